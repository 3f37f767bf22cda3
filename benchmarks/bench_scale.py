"""Scale benchmark (issue 8): the training fan-out on Dask with 1 vs 2 local workers, and the end-to-end pipeline.

Run: ``.venv/bin/python benchmarks/bench_scale.py [--cluster-per-flow] [--markdown out.md]``

1. A fresh data dir: a SQLite app database with the bundled daily datasets ingested (SP500, NASDAQ, GOOG),
   and a real ``prefect server start`` the flows report to.
2. For 1 and then 2 workers, a fresh subprocess with ``ABTPRO_TASK_RUNNER=dask`` and ``ABTPRO_DASK_WORKERS=N``
   (settings are read at start) and its own MLflow store runs the whole training fan-out (3 models x every
   bundled daily dataset), each flow on ``flows.common.task_runner(settings)``:
   ``train-volatility`` (walk-forward per dataset x candidate model), ``train-signal-quality`` (signal sets
   per dataset x strategy, walk-forward per candidate model) and ``tune-many`` (walk-forward tuning per
   dataset x strategy, with the quick start's agent and budget). As in ``abtpro run``, one local cluster of
   N single-threaded worker processes serves all three flows (``flows.common.shared_dask_cluster``); its
   start is timed. ``--cluster-per-flow`` lets each flow start its own cluster instead.
3. ``abtpro run --no-ui --no-serve`` in another fresh data dir (migrate, ingest, validate, train, register,
   tune) on the default thread runner.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from abtpro.settings import OFFLINE_ENV


def child(cluster_per_flow: bool = False) -> None:
    """Run the training fan-out on the task runner the environment configures; print timings as JSON."""
    from abtpro.cli import TUNE_BUDGET, TUNE_METHOD
    from abtpro.settings import get_settings
    from flows.common import shared_dask_cluster, task_runner
    from flows.signal_quality import train_signal_quality
    from flows.tune import tune_many
    from flows.volatility import train_volatility

    times: dict[str, float] = {}
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        # as `abtpro run` does: one local cluster for every flow (or, for comparison, one per flow)
        settings = get_settings() if cluster_per_flow else stack.enter_context(shared_dask_cluster(get_settings()))
        times["cluster start"] = time.perf_counter() - started
        for name, fn, kwargs in (("volatility", train_volatility, {}), ("signal_quality", train_signal_quality, {}),
                                 ("tuning", tune_many, {"method": TUNE_METHOD, "budget": TUNE_BUDGET,
                                                        "n_windows": 3})):
            tic = time.perf_counter()
            fn.with_options(task_runner=task_runner(settings))(**kwargs)
            times[name] = time.perf_counter() - tic
    times["total"] = time.perf_counter() - started
    print("BENCH_SCALE " + json.dumps(times), flush=True)


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, **OFFLINE_ENV, "ABTPRO_DATA_DIR": str(data_dir), "PREFECT_LOGGING_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT), **extra}
    for key in ("DATABASE_URL", "ABTPRO_MLFLOW_TRACKING_URI", "ABTPRO_TASK_RUNNER", "ABTPRO_DASK_WORKERS",
                "ABTPRO_DASK_ADDRESS", "PREFECT_API_URL"):
        if key not in extra:
            env.pop(key, None)
    return env


def fan_out(root: Path, prefect_api: str, workers: int, per_flow: bool) -> dict[str, float]:
    data_dir = root / f"workers-{workers}{'-per-flow' if per_flow else ''}"
    data_dir.mkdir()
    env = _env(root / "data", DATABASE_URL=f"sqlite:///{root / 'data' / 'abtpro.db'}",
               ABTPRO_MLFLOW_TRACKING_URI=f"sqlite:///{data_dir / 'mlflow.db'}",
               ABTPRO_MLFLOW_ARTIFACT_ROOT=(data_dir / "mlartifacts").as_uri(), ABTPRO_TASK_RUNNER="dask",
               ABTPRO_DASK_WORKERS=str(workers), PREFECT_API_URL=prefect_api)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", *(["--cluster-per-flow"] if per_flow else [])],
                         cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{workers}-worker run failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
    line = next(line for line in out.stdout.splitlines() if line.startswith("BENCH_SCALE "))
    return {**json.loads(line.removeprefix("BENCH_SCALE ")), "process": wall}


def end_to_end(root: Path) -> float:
    data_dir = root / "e2e" / ".abtpro"
    data_dir.parent.mkdir()
    env = _env(data_dir, PREFECT_HOME=str(root / "e2e" / "prefect-home"), COLUMNS="160")
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "abtpro.cli", "run", "--no-ui", "--no-serve"], cwd=data_dir.parent,
                         env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"abtpro run failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--cluster-per-flow", action="store_true",
                        help="each flow starts its own local cluster (a deployment run without ABTPRO_DASK_ADDRESS); "
                             "default: one cluster for the whole fan-out, as `abtpro run` does")
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    if args.child:
        return child(args.cluster_per_flow)

    from abtpro import local_stack

    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        root = Path(tmp)
        (root / "data").mkdir()
        os.environ.update(OFFLINE_ENV)
        prefect = local_stack.prefect_server(root, local_stack.free_port())
        proc = local_stack.start(prefect, root / "run", timeout=180)
        try:
            setup_env = _env(root / "data", DATABASE_URL=f"sqlite:///{root / 'data' / 'abtpro.db'}",
                             PREFECT_API_URL=f"{prefect.url}/api")
            for command in (["db", "upgrade"], ["ingest"]):
                setup = subprocess.run([sys.executable, "-m", "abtpro.cli", *command], cwd=ROOT, capture_output=True,
                                       text=True, check=False, env=setup_env)
                if setup.returncode != 0:
                    raise SystemExit(f"{command} failed:\n{setup.stdout[-3000:]}\n{setup.stderr[-3000:]}")
            results = {}
            for workers in args.workers:
                results[workers] = fan_out(root, f"{prefect.url}/api", workers, args.cluster_per_flow)
                print(f"{workers} worker(s): " + ", ".join(f"{k} {v:.1f}s" for k, v in results[workers].items()),
                      flush=True)
        finally:
            if proc is not None:
                local_stack.stop_process(proc)
        e2e = None if args.skip_e2e else end_to_end(root)

    clusters = ("each flow starts its own local cluster" if args.cluster_per_flow
                else "one local cluster for all flows, its start timed")
    lines = [(f"Training fan-out on Dask ({clusters}, 1 thread per worker), "
             f"{os.cpu_count()} CPUs:"), "",
             "| step | " + " | ".join(f"{w} worker{'s' if w > 1 else ''} (s)" for w in args.workers)
             + (" | speed-up |" if len(args.workers) == 2 else " |"),
             "|---|" + "---:|" * (len(args.workers) + (1 if len(args.workers) == 2 else 0))]
    for step in ("cluster start", "volatility", "signal_quality", "tuning", "total", "process"):
        row = [f"{results[w][step]:.1f}" for w in args.workers]
        if len(args.workers) == 2:
            a, b = (results[w][step] for w in args.workers)
            row.append(f"{a / b:.2f}x")
        label = {"process": "whole subprocess (imports, cluster starts)"}.get(step, step)
        lines.append(f"| {label} | " + " | ".join(row) + " |")
    if e2e is not None:
        lines += ["", (f"End to end, `abtpro run --no-ui --no-serve` in a fresh data dir: {e2e:.1f} s "
                      f"({'under' if e2e < 300 else 'OVER'} the 5-minute target)")]
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
