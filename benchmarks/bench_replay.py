"""Replay benchmark (issue 16): bars per second through the whole live loop, and what the replay adds to the quick start.

Run: ``.venv/bin/python benchmarks/bench_replay.py [--steps N] [--pace P] [--faulty] [--markdown out.md]``
(``abtpro`` is the one next to the running interpreter, or ``$ABTPRO_BIN``; this checkout's code is put first on
``PYTHONPATH``, so a git worktree benchmarks its own code with the main checkout's venv).

In a fresh data dir with free ports (nothing shared with a running stack):

1. ``abtpro run --no-replay``: install-free quick start (migrate, ingest all but the held-back year, validate,
   train, register, tune, start the Prefect server, flow runner, MLflow UI and the BentoML service), timed;
2. ``abtpro replay --json``: the held-back year (2018 for SP500/NASDAQ, 2012-13 for GOOG) pushed bar by bar
   through the service, the app simulator's scores and forecasts, the event-driven backfill -> monitoring ->
   drift -> retrain chain paced weekly, timed; its closing table read from the JSON;
3. ``abtpro down``.

The table: wall time of both, the replay's bars per second through the loop (bars pushed / time of the replay
steps, the loop's waits included), the wall time of ``abtpro replay`` (what the replay adds to the quick start,
the final wait for open retrains included) and, for ``--steps N``, that wall time extrapolated to the whole
held-back year (``(wall time - wait for retrains) * steps of the year / N + wait for retrains``) against the
target (the replay adds at most 240 s to the quick start) with the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ABTPRO = [os.environ.get("ABTPRO_BIN") or str(Path(sys.executable).with_name("abtpro"))]
TARGET_SECONDS = 240.0


def year_steps() -> int:
    """Steps of the whole held-back replay (the quick start's default hold-back)."""
    sys.path.insert(0, str(ROOT))
    from abtpro.settings import Settings
    from flows.replay import DAILY
    from ingestion.sources import read_sample
    from ml.replay import replay_steps

    held = read_sample(DAILY, holdback_days=Settings().replay_holdback_days, held_back=True)
    return len(replay_steps(held))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _timed(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = subprocess.run([*ABTPRO, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=3600, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"abtpro {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return time.perf_counter() - start, proc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="replay only the first N bars of each series")
    parser.add_argument("--pace", type=int, default=None, help="wait for the loop every P steps (default: the flow's)")
    parser.add_argument("--faulty", action="store_true", help="a faulty feed (duplicates, late, corrupt bars)")
    parser.add_argument("--markdown", type=Path, help="also write the table as markdown here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        cwd = Path(tmp)
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PREFECT_API_URL")}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
        env.update({"ABTPRO_DATA_DIR": str(cwd / ".abtpro"), "ABTPRO_PREFECT_PORT": str(_free_port()),
                    "ABTPRO_MLFLOW_PORT": str(_free_port()), "ABTPRO_SERVICE_PORT": str(_free_port()),
                    "COLUMNS": "200"})
        try:
            run_s, _ = _timed(["run", "--no-replay"], cwd, env)
            replay_args = ["replay", "--json", str(cwd / "replay.json")]
            replay_args += ["--steps", str(args.steps)] if args.steps else []
            replay_args += ["--pace", str(args.pace)] if args.pace is not None else []
            replay_args += ["--faulty"] if args.faulty else []
            replay_s, proc = _timed(replay_args, cwd, env)
            result = json.loads((cwd / "replay.json").read_text())
        finally:
            subprocess.run([*ABTPRO, "down"], cwd=cwd, env=env, capture_output=True, timeout=120, check=False)
    steps, total = int(result["steps"]), year_steps()
    loop_s = float(result["replay_seconds"])
    retrain_wait = max(replay_s - loop_s, 0.0)  # setup, the wait for open retrains and the closing report
    year_s = loop_s * total / steps + retrain_wait if steps else float("nan")
    retrains = result["retrains"]
    rows = [
        ("abtpro run --no-replay (quick start without the replay)", f"{run_s:.0f} s", "", ""),
        (f"replay steps through the loop ({steps} of {total} steps)", f"{loop_s:.0f} s", "", ""),
        ("bars pushed / bars per second through the loop", f"{result['bars_sent']} / {result['bars_per_second']:.2f}",
         "", ""),
        ("abtpro replay: wall time (what the replay adds; retrain wait and report included)", f"{replay_s:.0f} s",
         f"{TARGET_SECONDS:.0f} s", f"{replay_s / TARGET_SECONDS:.2f}x of target"),
        ("... of which after the steps (setup, wait for open retrains, report)", f"{retrain_wait:.0f} s", "", ""),
        (f"whole held-back year ({total} steps){' extrapolated' if steps < total else ''}", f"{year_s:.0f} s",
         f"{TARGET_SECONDS:.0f} s", f"{year_s / TARGET_SECONDS:.2f}x of target"),
        ("signals scored / forecasts", f"{result['signals_scored']} / {result['forecasts']}", "", ""),
        ("monitoring passes", json.dumps(result["monitoring_passes"]), "", ""),
        ("drift events / suppressed / retrains / promotions",
         f"{len(result['drift_events'])} / {result['suppressed']} / {len(retrains)} / {result['promotions']}", "", ""),
        ("loop runs waited for (backfill + monitoring)", str(result["loop_runs"]), "", ""),
    ]
    header = ("what", "measured", "target", "ratio")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    table = "\n".join(lines)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}, load average {load} (1/5/15 min) at the "
          f"end; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(table)
    print(proc.stdout[-12000:])
    if args.markdown:
        args.markdown.write_text(table + "\n")


if __name__ == "__main__":
    main()
