"""Background servers on 127.0.0.1 for the local experience and the integration tests.

Each server is a real process (``prefect server start``, ``mlflow server``, ``bentoml serve``, ``dask scheduler``
and ``dask worker``) whose state (``<name>.pid``: pid, command line, URLs) and log live in a run directory
(``<data_dir>/run`` for the CLI). A server counts as running when the process of its pid file is alive and still
runs the recorded command line (:func:`running`), never because of state a dead process left behind.

Contents, top-down: :func:`start`, :func:`running`, :func:`stop` and :func:`dask_cluster` (a scheduler and its
workers for the length of a ``with``). The server definitions are :mod:`abtpro.servers`, the process primitives
(:class:`Server`, health, command lines, signals) :mod:`abtpro.processes`; both are re-exported here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from abtpro.processes import (
    Server,
    alive,
    cmdline,
    free_port,
    healthy,
    same_command,
    stop_process,
    wait_healthy,
)
from abtpro.servers import (
    BIN,
    bentoml_server,
    dask_scheduler,
    dask_workers,
    flow_runner,
    mlflow_server,
    prefect_server,
)

__all__ = ["BIN", "Server", "bentoml_server", "dask_cluster", "dask_scheduler", "dask_workers", "flow_runner",
           "free_port", "healthy", "mlflow_server", "prefect_server", "running", "same_command", "start", "stop",
           "stop_process"]


def start(server: Server, run_dir: Path, timeout: float = 120.0, cwd: Path | None = None) -> subprocess.Popen | None:
    """Start ``server`` in the background unless it is running (:func:`running`, or its health URL answers when
    ``server.reuse_when_healthy``); wait until it is healthy.

    Returns:
        The process, or None when an already-running server was reused.

    Raises:
        RuntimeError: the process exited or did not become healthy in time (its log is quoted).
    """
    log_path = run_dir / f"{server.name}.log"
    state = running(server.name, run_dir)
    if state is not None:
        if state["command"] != server.command:
            raise RuntimeError(f"{server.name} already runs as {' '.join(state['command'])} (pid {state['pid']}); "
                               "stop it first (abtpro down)")
        wait_healthy(server, timeout, log_path, alive=lambda: running(server.name, run_dir) is not None)
        return None
    (run_dir / f"{server.name}.pid").unlink(missing_ok=True)  # a dead process's state
    if server.reuse_when_healthy and healthy(server.health_url):
        return None
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, **(server.env or {})}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(server.command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True)
    state = {"pid": proc.pid, "command": server.command, "url": server.url, "health_url": server.health_url}
    (run_dir / f"{server.name}.pid").write_text(json.dumps(state))
    try:
        wait_healthy(server, timeout, log_path, alive=lambda: proc.poll() is None)
    except RuntimeError:
        stop_process(proc)
        raise
    return proc


def running(name: str, run_dir: Path) -> dict | None:
    """The state of server ``name`` (pid, command, url, health_url) when the process its pid file names is alive
    and runs the command line recorded there; None otherwise (no pid file, a dead process, a reused pid)."""
    try:
        state = json.loads((run_dir / f"{name}.pid").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or not isinstance(state.get("pid"), int) or not state.get("command"):
        return None  # a bare pid (older state) says nothing about what runs under it
    if not alive(state["pid"]) or not same_command(cmdline(state["pid"]), state["command"]):
        return None
    return state


def stop(name: str, run_dir: Path, timeout: float = 15.0) -> bool:
    """Stop a server started by :func:`start` in an earlier command (by its pid file): SIGTERM to its
    process group, then SIGKILL if it is still alive after ``timeout`` seconds."""
    pid_file = run_dir / f"{name}.pid"
    state = running(name, run_dir)
    if state is None:  # nothing of ours runs under that pid (any more)
        pid_file.unlink(missing_ok=True)
        return False
    pid = state["pid"]
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        pid_file.unlink(missing_ok=True)
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.2)
    if alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    pid_file.unlink(missing_ok=True)
    return True


@contextmanager
def dask_cluster(run_dir: Path, n_workers: int = 2, env: dict[str, str] | None = None) -> Iterator[str]:
    """:func:`dask_scheduler` and :func:`dask_workers` (with ``env``) on free ports, logs under ``run_dir``.
    Yields the scheduler address once all ``n_workers`` have registered; stops both afterwards."""
    from distributed import Client

    scheduler = dask_scheduler(free_port(), free_port())
    procs = []
    try:
        procs.append(start(scheduler, run_dir, timeout=60))
        procs.append(start(dask_workers(scheduler.url, n_workers, free_port(), env=env), run_dir, timeout=120))
        with Client(scheduler.url, timeout=60) as client:
            client.wait_for_workers(n_workers, timeout=60)
        yield scheduler.url
    finally:
        for proc in reversed(procs):
            if proc is not None:
                stop_process(proc)
