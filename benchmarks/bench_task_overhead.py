"""Orchestration CPU per Prefect task run on Dask: Prefect as released vs with ``flows.task_overhead``.

Run: ``.venv/bin/python benchmarks/bench_task_overhead.py [--tasks 100] [--repeat 3]``

A real ``prefect server start`` and the production topology's Dask processes (``dask scheduler`` plus one
single-threaded ``dask worker``, ``abtpro.supervisor.dask_cluster``) on 127.0.0.1. For each side a fresh
cluster and a fresh flow process (a subprocess of this script) are started with
``ABTPRO_PREFECT_TASK_OVERHEAD_FIX`` off or on; the worker installs the fixes through its preload and the flow
process by calling ``flows.patches.install()`` (as the entry points do; with the switch off both leave Prefect
as released), warms up with 10 tasks, then submits ``--tasks`` no-op
tasks (each given a 5,000-row frame, like the fan-out's bars) and reads the CPU time of the worker, the Prefect
server and itself over that flow run (``psutil``). Per-task CPU is that divided by the task count. The table
shows medians over ``--repeat`` interleaved rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from abtpro.settings import OFFLINE_ENV

SWITCH = "ABTPRO_PREFECT_TASK_OVERHEAD_FIX"


def _cpu(pid: int, children: bool) -> float:
    import psutil

    proc = psutil.Process(pid)
    times = [proc.cpu_times()]
    if children:
        for child in proc.children(recursive=True):
            try:
                times.append(child.cpu_times())
            except psutil.Error:
                pass
    return sum(t.user + t.system for t in times)


def child(address: str, server_pid: int, n_tasks: int) -> None:
    """The measured flow process: ``n_tasks`` no-op tasks on the cluster at ``address``; prints JSON."""
    import pandas as pd
    from distributed import Client
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE
    from prefect_dask import DaskTaskRunner

    from flows import patches, task_overhead

    patches.install()  # installs (or, with the switch off, skips) the fixes here, as the entry points do

    frame = pd.DataFrame({"a": range(5000), "b": range(5000)})

    @task(cache_policy=NO_CACHE)
    def noop(df: pd.DataFrame, i: int) -> int:
        return i

    @flow(task_runner=DaskTaskRunner(address=address))
    def many(n: int) -> int:
        return sum(f.result() for f in [noop.submit(frame, i) for i in range(n)])

    with Client(address) as client:
        client.run(patches.install)  # the worker's preload (flows.patches) did this already
        (worker_pid,) = client.run(os.getpid).values()
    many(10)  # warm: first client, first settings, imports
    pids = {"worker": (worker_pid, False), "server": (server_pid, True), "flow": (os.getpid(), False)}
    before = {k: _cpu(pid, ch) for k, (pid, ch) in pids.items()}
    tic = time.perf_counter()
    assert many(n_tasks) == n_tasks * (n_tasks - 1) // 2
    wall = time.perf_counter() - tic
    after = {k: _cpu(pid, ch) for k, (pid, ch) in pids.items()}
    out = {"wall": wall, **{k: after[k] - before[k] for k in pids}, "patched": task_overhead.installed()}
    print("BENCH_OVERHEAD " + json.dumps(out), flush=True)


def measure(root: Path, prefect_api: str, server_pid: int, fix: str, n_tasks: int, round_: int) -> dict:
    from abtpro import supervisor

    env = {**os.environ, **OFFLINE_ENV, "PREFECT_API_URL": prefect_api, "PREFECT_LOGGING_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT), SWITCH: fix}
    with supervisor.dask_cluster(root / f"run-{fix}-{round_}", 1, env=env) as address:
        out = subprocess.run([sys.executable, __file__, "--child", address, str(server_pid), str(n_tasks)],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{fix} run failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
    line = next(line for line in out.stdout.splitlines() if line.startswith("BENCH_OVERHEAD "))
    return json.loads(line.removeprefix("BENCH_OVERHEAD "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()
    if args.child:
        address, server_pid, n_tasks = args.child
        return child(address, int(server_pid), int(n_tasks))

    from abtpro import supervisor

    sides = {"off": "Prefect 3.9 as released", "on": "with flows.task_overhead"}
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        root = Path(tmp)
        os.environ.update(OFFLINE_ENV)
        prefect = supervisor.prefect_server(root, supervisor.free_port())
        proc = supervisor.start(prefect, root / "run", timeout=180)
        try:
            runs: dict[str, list[dict]] = {side: [] for side in sides}
            for round_ in range(args.repeat):  # interleaved, so drifts of the machine hit both sides
                for side in sides:
                    run = measure(root, f"{prefect.url}/api", proc.pid, side, args.tasks, round_)
                    runs[side].append(run)
                    print(f"round {round_ + 1}, {side}: " + ", ".join(
                        f"{k} {v:.2f}s" for k, v in run.items() if k != "patched") + f", patched {run['patched']}",
                        flush=True)
        finally:
            supervisor.stop_process(proc)

    def per_task_ms(side: str, key: str) -> float:
        return statistics.median(1000 * (r[key] if key != "total" else r["worker"] + r["server"] + r["flow"])
                                 / args.tasks for r in runs[side])

    rows = [("wall time of the flow run, per task", "wall"), ("worker CPU per task", "worker"),
            ("Prefect server CPU per task", "server"), ("flow process CPU per task", "flow"),
            ("**all three, CPU per task**", "total")]
    lines = [(f"{args.tasks} no-op Prefect tasks on a warm single-threaded `dask worker` (`dask scheduler` + worker + "
             f"`prefect server start` on 127.0.0.1), {os.cpu_count()} CPUs, median of {args.repeat} rounds (ms):"), "",
             f"| step | {sides['off']} | {sides['on']} | ratio |", "|---|---:|---:|---:|"]
    for label, key in rows:
        off, on = per_task_ms("off", key), per_task_ms("on", key)
        lines.append(f"| {label} | {off:.1f} | {on:.1f} | {off / on:.2f}x |")
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n")


if __name__ == "__main__":
    main()
