"""Background servers on 127.0.0.1 for the local experience and the integration tests.

Each server is a real process (``prefect server start``, ``mlflow server``, ``bentoml serve``, ``dask scheduler``
and ``dask worker``) whose state (``<name>.pid``: pid, command line, URLs) and log live in a run directory
(``<data_dir>/run`` for the CLI). A server counts as running when the process of its pid file is alive and still
runs the recorded command line (:func:`running`), never because of state a dead process left behind.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Server:
    """A server process: its name, command line, health URL and the URL people open.

    ``reuse_when_healthy``: a health URL that answers means this server is up even when it was not started here
    (someone's own server on that port). False when the health URL can answer after the process died (the flow
    runner's is a deployment in Prefect's database): then only the process counts.
    """

    name: str
    command: list[str]
    health_url: str
    url: str
    env: dict[str, str] | None = None
    reuse_when_healthy: bool = True


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str, timeout: float = 2.0) -> bool:
    """True when ``url`` answers 2xx."""
    try:
        return httpx.get(url, timeout=timeout).is_success
    except httpx.HTTPError:
        return False


def prefect_server(data_dir: Path, port: int = 4200, database_url: str | None = None) -> Server:
    """A Prefect server with its own database: SQLite under ``data_dir``, or ``database_url``
    (``postgresql+asyncpg://...``) as in production."""
    env = {"PREFECT_HOME": str(data_dir / "prefect")}
    if database_url:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    return Server("prefect", [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                              "--analytics-off"],
                  f"http://127.0.0.1:{port}/api/health", f"http://127.0.0.1:{port}", env=env)


def flow_runner(prefect_url: str, data_dir: Path) -> Server:
    """``python -m flows.deployments``: registers every deployment and runs its scheduled/triggered runs.

    It polls for runs every 2 s (Prefect's default is 10 s): each link of the event-driven monitoring chain
    (bars arrived -> backfill -> outcomes resolved -> monitoring) waits for one poll."""
    return Server("flow-runner", [sys.executable, "-m", "flows.deployments"],
                  f"{prefect_url}/api/deployments/name/ingest/ingest", prefect_url,
                  env={"PREFECT_API_URL": f"{prefect_url}/api", "ABTPRO_DATA_DIR": str(data_dir),
                       "PREFECT_RUNNER_POLL_FREQUENCY": "2"},
                  reuse_when_healthy=False)


def mlflow_server(backend_store_uri: str, artifact_root: str, port: int = 5000) -> Server:
    """An MLflow tracking server (and UI) over the given backend store: one web worker, and no job runner (its
    huey consumers serve MLflow's GenAI and trace jobs, which this project does not use: 8 processes, ~1.3 GiB)."""
    return Server("mlflow", [str(BIN / "mlflow"), "server", "--backend-store-uri", backend_store_uri,
                             "--default-artifact-root", artifact_root, "--host", "127.0.0.1", "--port", str(port),
                             "--workers", "1"],
                  f"http://127.0.0.1:{port}/health", f"http://127.0.0.1:{port}",
                  env={"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})


def bentoml_server(port: int = 3000, service: str = "serving.service:MLService") -> Server:
    """The BentoML service on ``port``."""
    return Server("bentoml", [str(BIN / "bentoml"), "serve", service, "--host", "127.0.0.1", "--port", str(port)],
                  f"http://127.0.0.1:{port}/readyz", f"http://127.0.0.1:{port}")


def dask_scheduler(port: int = 8786, dashboard_port: int = 8787) -> Server:
    """A Dask scheduler (the compose stack's ``dask-scheduler``) that hands a single-threaded worker one task at a
    time (``worker-saturation`` 1.0, as ``flows.common.local_cluster``); its URL is the address flows take as
    ``ABTPRO_DASK_ADDRESS``."""
    from flows.common import WORKER_SATURATION

    return Server("dask-scheduler", [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                     "--dashboard-address", f"127.0.0.1:{dashboard_port}"],
                  f"http://127.0.0.1:{dashboard_port}/health", f"tcp://127.0.0.1:{port}",
                  env={"DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": str(WORKER_SATURATION)})


def dask_workers(scheduler_address: str, n_workers: int = 2, dashboard_port: int = 8788,
                 env: dict[str, str] | None = None) -> Server:
    """``n_workers`` single-threaded Dask worker processes (the compose stack's ``dask-worker``) under one nanny
    command. They run the fan-out tasks, so they need the pipeline's settings (``DATABASE_URL``, MLflow, Prefect)
    in their environment (``env`` on top of this process's). The first worker's HTTP server answers the health
    URL."""
    return Server("dask-worker", [str(BIN / "dask"), "worker", scheduler_address, "--nworkers", str(n_workers),
                                  "--nthreads", "1", "--host", "127.0.0.1", "--preload", "flows.patches",
                                  "--dashboard-address", f"127.0.0.1:{dashboard_port}"],
                  f"http://127.0.0.1:{dashboard_port}/health", scheduler_address, env=env)


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
        _wait_healthy(server, timeout, log_path, alive=lambda: running(server.name, run_dir) is not None)
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
        _wait_healthy(server, timeout, log_path, alive=lambda: proc.poll() is None)
    except RuntimeError:
        stop_process(proc)
        raise
    return proc


def _wait_healthy(server: Server, timeout: float, log_path: Path, alive) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{server.name} exited; log:\n{_tail(log_path)}")
        if healthy(server.health_url):
            return
        time.sleep(0.5)
    raise RuntimeError(f"{server.name} not healthy at {server.health_url} after {timeout:.0f}s; log:\n{_tail(log_path)}")


def running(name: str, run_dir: Path) -> dict | None:
    """The state of server ``name`` (pid, command, url, health_url) when the process its pid file names is alive
    and runs the command line recorded there; None otherwise (no pid file, a dead process, a reused pid)."""
    try:
        state = json.loads((run_dir / f"{name}.pid").read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or not isinstance(state.get("pid"), int) or not state.get("command"):
        return None  # a bare pid (older state) says nothing about what runs under it
    if not _alive(state["pid"]) or not same_command(_cmdline(state["pid"]), state["command"]):
        return None
    return state


def same_command(cmdline: list[str] | None, command: list[str]) -> bool:
    """True when a process's ``cmdline`` runs ``command``: the same arguments, after the program or, for a script,
    after the interpreter the kernel put before it (``.venv/bin/prefect`` runs as ``python .venv/bin/prefect``)."""
    if not cmdline or len(cmdline) < len(command):
        return False
    head = cmdline[: len(cmdline) - len(command) + 1]
    return cmdline[len(head):] == command[1:] and Path(command[0]).name in {Path(arg).name for arg in head}


def _cmdline(pid: int) -> list[str] | None:
    """The command line of process ``pid`` (empty for a zombie), from /proc or ``ps`` elsewhere."""
    proc = Path(f"/proc/{pid}/cmdline")
    if Path("/proc/self").exists():
        for _ in range(20):  # empty for a moment while the process is exec'ing (and for good once a zombie)
            try:
                args = proc.read_bytes().decode(errors="replace").split("\0")[:-1]
            except OSError:
                return None
            if args:
                return args
            time.sleep(0.05)
        return []
    out = subprocess.run(["ps", "-ww", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False)
    return out.stdout.split() if out.returncode == 0 else None


def stop_process(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Terminate a server's whole process group."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=timeout)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


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
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    if _alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    pid_file.unlink(missing_ok=True)
    return True


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reaps it when it is our child
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
