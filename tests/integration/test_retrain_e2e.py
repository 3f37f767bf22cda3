"""End to end against real servers on 127.0.0.1: a Prefect server, an MLflow tracking server and the
monitoring chain served in a separate process (``python -m flows.monitor --serve``: the deployments
``monitoring-loop``, ``backfill-outcomes``, ``monitor-models`` and ``retrain-model`` with its
``abtpro.model.drift`` trigger).

The test process trains the champion, then starts the ``monitoring-loop`` deployment like its schedule would: one
run resolves the outcomes (its ``backfill-outcomes`` subflow), then monitors (``monitor-models``). Stable data
(forecasts stored directly): no trigger, no retraining run. Volatility
doubles: the forecasts for the new bars come from the BentoML service (``bentoml serve``, which stores
them with their features); monitoring emits the event, the automation starts a ``retrain-model`` flow
run (with the templated parameters), which registers a new version as challenger and, being better on
the new regime, promotes it to champion; the running service hot-reloads it and answers with it.
"""

from __future__ import annotations

import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

import registry
from abtpro import supervisor
from tests.flows.test_monitor_flow import build_world

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def servers(db_url, tmp_path_factory):
    """Prefect server, MLflow server and the served retrain deployment; yields their URLs."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    root = tmp_path_factory.mktemp("e2e")
    run_dir = root / "run"
    prefect = supervisor.prefect_server(root, supervisor.free_port())
    mlflow_srv = supervisor.mlflow_server(f"sqlite:///{root / 'mlflow.db'}", str(root / "mlartifacts"),
                                           supervisor.free_port())
    with ThreadPoolExecutor(2) as pool:
        procs = list(pool.map(lambda server: supervisor.start(server, run_dir), [prefect, mlflow_srv]))
    api = f"{prefect.url}/api"
    env = {"PREFECT_API_URL": api, "ABTPRO_MLFLOW_TRACKING_URI": mlflow_srv.url, "DATABASE_URL": db_url,
           "ABTPRO_DATA_DIR": str(root), "PREFECT_HOME": str(root / "prefect-client")}
    runner = supervisor.Server("monitoring-runner", [sys.executable, "-m", "flows.monitor", "--serve"],
                                f"{api}/deployments/name/retrain-model/retrain-model", prefect.url, env=env)
    previous = os.environ.get("ABTPRO_MLFLOW_TRACKING_URI")
    try:
        procs.append(supervisor.start(runner, run_dir, cwd=Path(__file__).resolve().parents[2]))
        os.environ["ABTPRO_MLFLOW_TRACKING_URI"] = mlflow_srv.url
        with temporary_settings(updates={PREFECT_API_URL: api}):
            yield {"prefect": prefect.url, "api": api, "mlflow": mlflow_srv.url, "run_dir": run_dir}
    finally:
        with ThreadPoolExecutor(len(procs)) as pool:
            list(pool.map(supervisor.stop_process, [p for p in procs if p is not None]))
        if previous is None:
            os.environ.pop("ABTPRO_MLFLOW_TRACKING_URI", None)
        else:
            os.environ["ABTPRO_MLFLOW_TRACKING_URI"] = previous


def _runs_of(deployment: str) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=[deployment])))


def _retrain_runs(api: str) -> list:
    return _runs_of("retrain-model")


def _final_run(flow_run_id, timeout: float = 60.0):
    """The flow run once Prefect has stored its final state."""
    from prefect.client.orchestration import get_client

    deadline = time.monotonic() + timeout
    with get_client(sync_client=True) as client:
        while True:
            run = client.read_flow_run(flow_run_id)
            if (run.state and run.state.is_final()) or time.monotonic() > deadline:
                return run
            time.sleep(1)


def _run(deployment: str, **parameters) -> None:
    """Start a run of a served deployment and wait for it (as its schedule would)."""
    from prefect.deployments import run_deployment

    run = run_deployment(f"{deployment}/{deployment}", parameters=parameters, timeout=120)
    assert run.state.is_completed(), f"{deployment}: {run.state}"


def _wait_for_trigger(url: str, timeout: float = 150.0) -> dict:
    from store import monitoring as store

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest = store.trigger_history(url, registry.VOLATILITY_MODEL, limit=1)[0]
        if latest["status"] in ("completed", "failed"):
            return latest
        time.sleep(2)
    raise AssertionError(f"the retrain run did not finish in {timeout:.0f}s; trigger: {latest}")


def test_stable_data_fires_no_trigger(servers, db_url):
    from store import monitoring as store

    build_world(db_url, servers["mlflow"], variance_scale=1.0)
    _run("monitoring-loop")  # resolves the outcomes, then monitors, in one run
    (row,) = store.monitoring_history(db_url, registry.VOLATILITY_MODEL)
    assert row["decision"] == "ok" and row["n_resolved"] == 245, row["reasons"]
    assert store.trigger_history(db_url) == []
    time.sleep(8)  # an automation would have started a run by now (~6 s)
    assert _retrain_runs(servers["api"]) == []


@pytest.fixture
def service(servers, db_url):
    """A factory: start ``bentoml serve`` (champion poll every second) once the champion exists."""
    started = []

    def start() -> tuple[str, dict[str, str]]:
        from store.users import create_user

        _, key = create_user(db_url, "e2e-client")
        root = servers["run_dir"].parent
        server = supervisor.bentoml_server(supervisor.free_port())
        server = supervisor.Server(server.name, server.command, server.health_url, server.url, env={
            "DATABASE_URL": db_url, "ABTPRO_MLFLOW_TRACKING_URI": servers["mlflow"], "ABTPRO_DATA_DIR": str(root),
            "ABTPRO_SERVING_POLL_SECONDS": "1", "BENTOML_HOME": str(root / "bentoml")})
        started.append(supervisor.start(server, servers["run_dir"], cwd=Path(__file__).resolve().parents[2]))
        return server.url, {"X-API-Key": key}

    yield start
    for proc in started:
        if proc is not None:
            supervisor.stop_process(proc)


def _served_version(url: str, headers: dict[str, str]) -> str | None:
    models = httpx.get(f"{url}/ml/models/list", headers=headers, timeout=30).json()["models"]
    served = next(m for m in models if m["name"] == registry.VOLATILITY_MODEL)["serving"]
    return None if served is None else served["version"]


def test_doubled_volatility_triggers_a_retraining_run_that_promotes(servers, db_url, service):
    import mlflow

    from store import monitoring as store

    new = build_world(db_url, servers["mlflow"], variance_scale=4.0, forecasts=False)
    url, headers = service()
    assert _served_version(url, headers) == "1"
    batch = {"requests": [{"symbol": "SYN", "as_of": ts.isoformat()} for ts in new["ts"]]}
    served = httpx.post(f"{url}/ml/volatility/predict_batch", json=batch, headers=headers, timeout=120)
    assert served.status_code == 200, served.text
    assert served.json()["count"] == 250 and served.json()["model"]["version"] == "1"

    _run("monitoring-loop")  # its monitoring's drift event starts the retrain
    (row,) = store.monitoring_history(db_url, registry.VOLATILITY_MODEL, limit=1)
    assert row["decision"] == "retrain" and row["n_resolved"] == 245
    assert any(r.startswith("feature drift") for r in row["reasons"])

    trigger = _wait_for_trigger(db_url)
    log = (servers["run_dir"] / "monitoring-runner.log").read_text(errors="replace")[-3000:]
    assert trigger["status"] == "completed", f"{trigger}\n{log}"
    assert trigger["mode"] == "event", "the served retrain-model deployment should be found on the server"
    assert trigger["event_id"] and trigger["reasons"] == row["reasons"] and trigger["monitoring_id"] == row["id"]

    (run,) = _retrain_runs(servers["api"])  # the automation started exactly one run
    assert str(run.id) == trigger["flow_run_id"]
    run = _final_run(run.id)  # the flow body records "completed" just before Prefect stores the final state
    assert run.state.is_completed(), run.state
    assert run.parameters["model"] == registry.VOLATILITY_MODEL and int(run.parameters["trigger_id"]) == trigger["id"]

    result = trigger["result"]
    assert result["version"] == "2" and result["promoted"] is True and result["previous_champion"] == "1"
    client = mlflow.MlflowClient(servers["mlflow"], registry_uri=servers["mlflow"])
    assert client.get_model_version_by_alias(registry.VOLATILITY_MODEL, registry.CHAMPION).version == "2"
    assert client.get_model_version_by_alias(registry.VOLATILITY_MODEL, registry.CHALLENGER).version == "2"
    monitoring_runs = client.search_runs([client.get_experiment_by_name("abtpro-monitoring").experiment_id])
    assert any(r.data.tags.get("monitored_version") == "1" for r in monitoring_runs)
    assert store.model_performance(db_url)["models"][registry.VOLATILITY_MODEL]["triggers"][0]["id"] == trigger["id"]

    # each worker process polls the champion alias every second and swaps once the new version is loaded: wait
    # until several answers in a row (new connections, so any worker) come from v2
    deadline, in_a_row = time.monotonic() + 60, 0
    while in_a_row < 6 and time.monotonic() < deadline:
        answer = httpx.post(f"{url}/ml/volatility/predict", json={"symbol": "SYN"}, headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        in_a_row = in_a_row + 1 if answer.json()["model"]["version"] == "2" else 0
        time.sleep(0.2 if in_a_row else 1)
    assert answer.json()["model"] == {"name": registry.VOLATILITY_MODEL, "version": "2"}
    assert in_a_row >= 6, "not every worker serves v2 after 60 s"
