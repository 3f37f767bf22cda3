"""The servers of the local stack, as :class:`abtpro.processes.Server` definitions for
:func:`abtpro.supervisor.start`: :func:`prefect_server`, :func:`flow_runner`, :func:`mlflow_server`,
:func:`bentoml_server`, :func:`dask_scheduler`, :func:`dask_workers`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from abtpro.processes import Server

BIN = Path(sys.executable).parent


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

    It polls for runs every second (Prefect's default is 10 s): every run an event starts (bars arrived ->
    monitoring-loop, drift -> retrain-model) waits for one poll."""
    return Server("flow-runner", [sys.executable, "-m", "flows.deployments"],
                  f"{prefect_url}/api/deployments/name/ingest/ingest", prefect_url,
                  env={"PREFECT_API_URL": f"{prefect_url}/api", "ABTPRO_DATA_DIR": str(data_dir),
                       "PREFECT_RUNNER_POLL_FREQUENCY": "1"},
                  reuse_when_healthy=False)


def mlflow_server(backend_store_uri: str, artifact_root: str, port: int = 5000,
                  auth_env: dict[str, str] | None = None) -> Server:
    """An MLflow tracking server (and UI) over the given backend store: one web worker, and no job runner (its
    huey consumers serve MLflow's GenAI and trace jobs, which this project does not use: 8 processes, ~1.3 GiB).

    With ``auth_env`` (:func:`abtpro.mlflow_auth.server_env`) it asks for a login (``--app-name abtpro-auth``:
    MLflow's basic auth plus the record of who moved an alias, :mod:`registry.auth_app`)."""
    command = [str(BIN / "mlflow"), "server", "--backend-store-uri", backend_store_uri,
               "--default-artifact-root", artifact_root, "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    env = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    if auth_env is not None:
        command += ["--app-name", "abtpro-auth"]
        env.update(auth_env)
    return Server("mlflow", command, f"http://127.0.0.1:{port}/health", f"http://127.0.0.1:{port}", env=env)


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
