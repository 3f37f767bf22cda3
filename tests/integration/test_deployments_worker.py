"""``prefect deploy --all`` of infra/prefect.yaml against a real Prefect server (on PostgreSQL, as in the
compose stack), and a process worker (``infra/worker.sh``, the compose service's command) running the
deployments' flow runs: ingest -> validate -> volatility-pipeline -> tune-strategy, each checked in the
app database and the MLflow registry it wrote to.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

import registry
from abtpro import supervisor
from tests.integration.pg import drop_database, fresh_database

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.own_postgres]

ROOT = Path(__file__).resolve().parents[2]
PREFECT_DB, APP_DB = (f"abtpro_deploy_{part}_it_{os.getpid()}" for part in ("prefect", "app"))
RUN_TIMEOUT = 420


@pytest.fixture
def worker_stack(tmp_path: Path) -> Iterator[dict]:
    """A Prefect server on PostgreSQL and ``infra/worker.sh`` (work pool, deploy --all, worker) against it."""
    procs: list[subprocess.Popen | None] = []
    try:
        port = supervisor.free_port()
        server = supervisor.prefect_server(tmp_path, port, database_url=fresh_database(PREFECT_DB, driver="asyncpg"))
        procs.append(supervisor.start(server, tmp_path / "run", timeout=180))
        api = f"{server.url}/api"
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               "PREFECT_API_URL": api, "PREFECT_HOME": str(tmp_path / "prefect-client"),
               "DATABASE_URL": fresh_database(APP_DB), "ABTPRO_DATA_DIR": str(tmp_path / "data"),
               "ABTPRO_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
               "ABTPRO_MLFLOW_ARTIFACT_ROOT": (tmp_path / "mlartifacts").as_uri()}
        subprocess.run([sys.executable, "-m", "abtpro.cli", "db", "upgrade"], env=env, check=True,
                       capture_output=True, timeout=120)
        log = tmp_path / "worker.log"
        with open(log, "wb") as out:
            worker = subprocess.Popen(["bash", str(ROOT / "infra" / "worker.sh")], cwd=tmp_path, env=env,
                                      stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(worker)
        yield {"api": api, "env": env, "log": log, "worker": worker}
    finally:
        for proc in reversed(procs):
            if proc is not None:
                supervisor.stop_process(proc)
        for name in (PREFECT_DB, APP_DB):
            drop_database(name)


def _declared() -> dict[str, dict]:
    return {d["name"]: d for d in yaml.safe_load((ROOT / "infra" / "prefect.yaml").read_text())["deployments"]}


def _wait_for_deployments(stack: dict, names: set[str], timeout: float = 240) -> dict[str, dict]:
    deadline = time.monotonic() + timeout
    found: dict[str, dict] = {}
    while time.monotonic() < deadline:
        assert stack["worker"].poll() is None, stack["log"].read_text()[-5000:]
        deployments = httpx.post(f"{stack['api']}/deployments/filter", json={}, timeout=30).json()
        found = {d["name"]: d for d in deployments}
        workers = httpx.post(f"{stack['api']}/work_pools/abtpro-process/workers/filter", json={}, timeout=30)
        if names <= set(found) and workers.is_success and workers.json():
            return found
        time.sleep(2)
    raise AssertionError(f"deployed {sorted(found)}, expected {sorted(names)}; worker log:\n"
                         + stack["log"].read_text()[-5000:])


def _run(stack: dict, deployment: dict, parameters: dict) -> dict:
    """Create a flow run of ``deployment`` and wait until the worker has finished it."""
    run = httpx.post(f"{stack['api']}/deployments/{deployment['id']}/create_flow_run",
                     json={"parameters": parameters}, timeout=30)
    assert run.is_success, run.text
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        state = httpx.get(f"{stack['api']}/flow_runs/{run.json()['id']}", timeout=30).json()
        if state["state_type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            assert state["state_type"] == "COMPLETED", (deployment["name"], state["state"],
                                                        stack["log"].read_text()[-8000:])
            return state
        time.sleep(2)
    raise AssertionError(f"{deployment['name']} not finished after {RUN_TIMEOUT}s:\n"
                         + stack["log"].read_text()[-5000:])


def test_deploy_all_and_a_process_worker_runs_the_pipeline(worker_stack: dict):
    declared = _declared()
    deployed = _wait_for_deployments(worker_stack, set(declared))
    api = worker_stack["api"]

    # every deployment of the file, on the process pool, with its schedules; the drift trigger is an automation
    for name, spec in declared.items():
        d = deployed[name]
        assert d["work_pool_name"] == "abtpro-process" and d["entrypoint"] == spec["entrypoint"], name
        crons = sorted(s["schedule"]["cron"] for s in d["schedules"])
        assert crons == sorted(s["cron"] for s in spec.get("schedules", [])), name
        assert d["pull_steps"] == [{"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}]
    automations = httpx.post(f"{api}/automations/filter", json={}, timeout=30).json()
    [retrain] = [a for a in automations if a["name"] == "retrain-on-drift"]
    assert retrain["trigger"]["expect"] == ["abtpro.model.drift"]
    assert retrain["actions"][0]["deployment_id"] == deployed["retrain-model"]["id"]
    # the monitoring chain on events, one run at a time (CANCEL_NEW), the series templated as JSON
    # (one run per arrival: the backfill, then monitoring, as subflows of monitoring-loop)
    [arrival] = [a for a in automations if a["name"] == "loop-on-arrival"]
    assert arrival["trigger"]["expect"] == ["abtpro.bars.arrived"]
    assert arrival["actions"][0]["deployment_id"] == deployed["monitoring-loop"]["id"]
    assert arrival["actions"][0]["parameters"]["symbols"]["__prefect_kind"] == "json"
    assert sorted(a["name"] for a in automations) == ["loop-on-arrival", "retrain-on-drift"]
    for name in ("monitoring-loop", "backfill-outcomes", "monitor-models"):
        assert deployed[name]["concurrency_options"]["collision_strategy"] == "CANCEL_NEW", deployed[name]

    # the worker runs the pipeline's deployments, each in its own process, against the shared stores
    env = worker_stack["env"]
    _run(worker_stack, deployed["ingest"], {"source": "sample", "symbol": "GOOG"})
    _run(worker_stack, deployed["validate"], {})
    _run(worker_stack, deployed["volatility-pipeline"],
         {"symbols": ["GOOG"], "candidates": ["garch_t", "har_gk_log"], "refit_every": 126})
    _run(worker_stack, deployed["tune-strategy"],
         {"strategy": "sma_crossover", "symbol": "GOOG", "budget": 5, "n_windows": 2})

    from mlflow import MlflowClient

    from store import optimizations
    from store.bars import bar_counts

    counts = bar_counts(env["DATABASE_URL"])
    assert counts.set_index("symbol").loc["GOOG", "rows"] == 2148
    uri = env["ABTPRO_MLFLOW_TRACKING_URI"]
    champion = MlflowClient(uri, registry_uri=uri).get_model_version_by_alias(registry.VOLATILITY_MODEL,
                                                                               registry.CHAMPION)
    assert str(champion.version) == "1" and champion.tags["data_digest"]
    [row] = optimizations.list_optimizations(env["DATABASE_URL"], strategy="sma_crossover", symbol="GOOG")
    assert row.status == optimizations.COMPLETED and row.performance["mlflow_run_id"]
    worker_log = worker_stack["log"].read_text()
    assert "Worker 'ProcessWorker" in worker_log or "ProcessWorker" in worker_log, worker_log[-3000:]
