"""The production topology without Docker: PostgreSQL, ``mlflow server`` on a PostgreSQL backend store,
``prefect server start`` on a PostgreSQL database, a ``dask scheduler`` with two ``dask worker`` processes and
``bentoml serve`` as processes on 127.0.0.1, with the main pipeline (``abtpro run``) run through them: its fan-out
tasks run on the Dask workers (``ABTPRO_TASK_RUNNER=dask``, ``ABTPRO_DASK_ADDRESS``), as in the compose stack.

PostgreSQL is the machine's server at 127.0.0.1:5432 (the server of ``DATABASE_URL`` when the suite runs
on PostgreSQL); the app database, the MLflow backend store and the Prefect database are fresh databases
created and dropped here, so the suite's own database is untouched whichever backend the suite runs on.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest
from distributed import Client
from sqlalchemy import create_engine, text

import registry
from abtpro import supervisor
from tests.integration.pg import drop_database, fresh_database

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.own_postgres]

# one pair per test process: concurrent runs (other checkouts, CI) share the PostgreSQL server
APP_DB, MLFLOW_DB, PREFECT_DB = (f"abtpro_stack_{part}it_{os.getpid()}" for part in ("", "mlflow_", "prefect_"))
ABTPRO = [sys.executable, "-m", "abtpro.cli"]


def _stop_later(servers: ExitStack, proc: subprocess.Popen | None) -> None:
    if proc is not None:  # None: an already-running server was reused
        servers.callback(supervisor.stop_process, proc)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    """PostgreSQL databases, an MLflow server on PostgreSQL, a Prefect server and a Dask scheduler with two
    workers; torn down afterwards."""
    data_dir = tmp_path / ".abtpro"
    run_dir = data_dir / "run"
    servers = ExitStack()  # stopped in reverse: Dask cluster, then Prefect, then MLflow
    env = {"ABTPRO_DATA_DIR": str(data_dir), "ABTPRO_PREFECT_PORT": str(supervisor.free_port()),
           "ABTPRO_MLFLOW_PORT": str(supervisor.free_port()), "ABTPRO_SERVICE_PORT": str(supervisor.free_port())}
    try:
        env["DATABASE_URL"] = fresh_database(APP_DB)
        mlflow = supervisor.mlflow_server(fresh_database(MLFLOW_DB), (tmp_path / "mlartifacts").as_uri(),
                                           supervisor.free_port())
        _stop_later(servers, supervisor.start(mlflow, tmp_path / "servers", timeout=180))
        env["ABTPRO_MLFLOW_TRACKING_URI"] = mlflow.url
        # the same Prefect server `abtpro run` would start; it finds it healthy on ABTPRO_PREFECT_PORT and reuses it
        prefect = supervisor.prefect_server(data_dir, int(env["ABTPRO_PREFECT_PORT"]),
                                             database_url=fresh_database(PREFECT_DB, driver="asyncpg"))
        _stop_later(servers, supervisor.start(prefect, run_dir, timeout=180))
        env["PREFECT_API_URL"] = f"{prefect.url}/api"
        # the workers run the fan-out tasks, so they see the pipeline's settings, as the compose services do
        address = servers.enter_context(supervisor.dask_cluster(tmp_path / "servers", 2,
                                                                 env={**env, "ABTPRO_TASK_RUNNER": "dask"}))
        env.update(ABTPRO_TASK_RUNNER="dask", ABTPRO_DASK_ADDRESS=address)
        env["prefect_url"] = prefect.url
        yield env
    finally:
        cli_env = {k: v for k, v in env.items() if k != "prefect_url"}
        subprocess.run([*ABTPRO, "down"], cwd=tmp_path, env={**os.environ, **cli_env}, capture_output=True,
                       timeout=120, check=False)
        servers.close()
        for name in (APP_DB, MLFLOW_DB, PREFECT_DB):
            drop_database(name)


def test_main_pipeline_through_the_local_stack(stack: dict[str, str], tmp_path: Path):
    env = {k: v for k, v in stack.items() if k != "prefect_url"}
    out = subprocess.run([*ABTPRO, "run", "--no-replay"], cwd=tmp_path, env={**os.environ, **env, "COLUMNS": "160"},
                         capture_output=True, text=True, timeout=420, check=False)
    assert out.returncode == 0, out.stdout[-5000:] + out.stderr[-5000:]

    # the models are in the MLflow server's registry, each with a champion
    from mlflow import MlflowClient

    uri = stack["ABTPRO_MLFLOW_TRACKING_URI"]
    client = MlflowClient(uri, registry_uri=uri)  # explicit: earlier tests set a process-global registry URI
    for name in (registry.VOLATILITY_MODEL, registry.SIGNAL_QUALITY_MODEL):
        version = client.get_model_version_by_alias(name, registry.CHAMPION)
        assert str(version.version) == "1" and version.tags["data_digest"], name

    # the flow runs are recorded by the Prefect server
    api = f"{stack['prefect_url']}/api"
    flows = {f["id"]: f["name"] for f in httpx.post(f"{api}/flows/filter", json={}, timeout=30).json()}
    runs = httpx.post(f"{api}/flow_runs/filter", json={"limit": 200}, timeout=30).json()
    completed = {flows.get(r["flow_id"]) for r in runs if r["state_type"] == "COMPLETED"}
    for name in ("ingest", "validate", "volatility-pipeline", "signal-quality-pipeline", "train-volatility",
                 "register-volatility"):
        assert name in completed, (name, sorted(n for n in completed if n))

    # the fan-out ran on the stack's Dask workers: the scheduler counts each kind of task it completed
    with Client(stack["ABTPRO_DASK_ADDRESS"], timeout=60) as client:
        done = client.run_on_scheduler(
            lambda dask_scheduler: {name: prefix.state_counts["memory"]
                                    for name, prefix in dask_scheduler.task_prefixes.items()})
    for prefix in ("walk_forward", "fit_final", "prepare_set", "tune_pair"):
        assert done.get(prefix, 0) > 0, (prefix, done)

    # a signal scored through the service is stored in PostgreSQL
    key = next(line for line in out.stdout.splitlines() if line.startswith("curl ")).split("X-API-Key: ")[1]
    response = httpx.post(f"http://127.0.0.1:{stack['ABTPRO_SERVICE_PORT']}/ml/signal/score",
                          headers={"X-API-Key": key.split("'")[0]}, timeout=60,
                          json={"symbol": "SP500", "strategy": "sma_crossover", "side": "BUY"})
    assert response.status_code == 200, response.text
    engine = create_engine(stack["DATABASE_URL"])
    with engine.connect() as conn:
        row = conn.execute(text("SELECT symbol, model_name, score FROM ml_signal_scores WHERE id = :id"),
                           {"id": response.json()["id"]}).one()
    engine.dispose()
    assert row.symbol == "SP500" and row.model_name == registry.SIGNAL_QUALITY_MODEL
    assert abs(row.score - response.json()["score"]) < 1e-9
