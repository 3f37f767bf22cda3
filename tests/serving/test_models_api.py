"""/ml/models/*: list, performance, training jobs (non-blocking, real status transitions), job status."""

from __future__ import annotations

import time

from sqlalchemy import select

from store.db import get_engine
from store.models import AuditLog
from tests.serving.conftest import headers


def _wait_done(client, job_id: int, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/ml/models/jobs/{job_id}", headers=headers("admin")).json()
        if body["status"] != "TRAINING":
            return body
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still TRAINING after {timeout}s")


def test_list_shows_versions_aliases_and_served_version(client, store, registry_store):
    body = client.get("/ml/models/list", headers=headers("alice")).json()
    models = {m["name"]: m for m in body["models"]}
    vol = models["abtpro-volatility"]
    assert vol["serving"]["version"] == registry_store["versions"]["volatility_har_gk_log"]
    assert [v["version"] for v in vol["versions"]] == ["2", "1"]
    assert "champion" in next(v for v in vol["versions"] if v["version"] == vol["serving"]["version"])["aliases"]
    assert models["abtpro-signal-quality"]["serving"]["version"] == registry_store["versions"]["signal"]


def test_train_returns_at_once_and_the_job_completes(client, store):
    from tests.serving.support import TRAIN_GATE

    TRAIN_GATE.clear()  # the fake flow cannot finish until the request has answered
    try:
        r = client.post("/ml/models/train", json={"model_type": "VOLATILITY", "symbols": ["SYN"], "horizon": 10},
                        headers=headers("admin"))
        assert r.status_code == 202, r.text
        job = r.json()
        assert job["status"] == "TRAINING" and job["training_data"] == {"symbols": ["SYN"], "horizon": 10}
        assert client.get(f"/ml/models/jobs/{job['job_id']}", headers=headers("admin")).json()["status"] == "TRAINING"
        assert client.get(f"/ml/models/jobs/{job['job_id']}", headers=headers("bob")).status_code == 404  # admins' jobs
    finally:
        TRAIN_GATE.set()
    done = _wait_done(client, job["job_id"])
    assert done["status"] == "COMPLETED" and done["model_version"] == "99"
    assert done["performance"]["horizon"] == 10 and done["completed_at"] is not None
    with get_engine(store).connect() as conn:
        audit = conn.execute(select(AuditLog.actor, AuditLog.action, AuditLog.target)).all()
    assert audit == [("admin", "model.train.requested", f"job:{job['job_id']}"),
                     ("admin", "model.train.dispatched", f"job:{job['job_id']}")]


def test_failing_training_is_marked_failed(client, store):
    job = client.post("/ml/models/train", json={"model_type": "VOLATILITY", "symbols": ["FAIL"]},
                      headers=headers("admin")).json()
    done = _wait_done(client, job["job_id"])
    assert done["status"] == "FAILED" and "failed on purpose" in done["error"]


def test_flow_that_does_not_update_the_row_is_completed_by_the_runner(client, store):
    job = client.post("/ml/models/train", json={"model_type": "SIGNAL_QUALITY"}, headers=headers("admin")).json()
    assert job["training_data"] == {"symbols": None}
    assert _wait_done(client, job["job_id"])["status"] == "COMPLETED"


def test_train_validation_and_unknown_job(client, store):
    r = client.post("/ml/models/train", json={"model_type": "RL"}, headers=headers("admin"))
    assert r.status_code == 422 and r.json()["fields"] == ["model_type"]
    r = client.post("/ml/models/train", json={"model_type": "VOLATILITY", "horizon": 0}, headers=headers("admin"))
    assert r.status_code == 422 and r.json()["fields"] == ["horizon"]
    assert client.get("/ml/models/jobs/424242", headers=headers("admin")).status_code == 404
    assert client.get("/ml/models/jobs/abc", headers=headers("admin")).status_code == 422


def test_performance_reports_registry_and_live_metrics(client, store):
    client.post("/ml/signal/score", json={"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY"},
                headers=headers("alice"))
    job = client.post("/ml/models/train", json={"model_type": "VOLATILITY"}, headers=headers("admin")).json()
    _wait_done(client, job["job_id"])
    client.post("/ml/volatility/predict", json={"symbol": "SYN"}, headers=headers("bob"))
    body = client.get("/ml/models/performance", headers=headers("admin")).json()
    perf = {m["name"]: m for m in body["models"]}
    assert perf["abtpro-volatility"]["registry_metrics"] == {"qlike": 0.5}
    assert perf["abtpro-signal-quality"]["registry_metrics"] == {"auc": 0.6}
    assert perf["abtpro-signal-quality"]["live"]["count"] == 1  # the admin sees everyone's
    assert perf["abtpro-volatility"]["live"]["n_predictions"] == 1
    assert [t["job_id"] for t in perf["abtpro-volatility"]["recent_trainings"]] == [job["job_id"]]
    # any other caller sees its own predictions only, and no training jobs
    own = {m["name"]: m for m in client.get("/ml/models/performance", headers=headers("bob")).json()["models"]}
    assert own["abtpro-signal-quality"]["live"]["count"] == 0 and own["abtpro-volatility"]["live"]["n_predictions"] == 1
    assert own["abtpro-volatility"]["recent_trainings"] == [] and own["abtpro-volatility"]["registry_metrics"]
    alice = {m["name"]: m for m in client.get("/ml/models/performance", headers=headers("alice")).json()["models"]}
    assert alice["abtpro-signal-quality"]["live"]["count"] == 1 and alice["abtpro-volatility"]["live"]["n_predictions"] == 0


def test_a_reachable_deployment_is_preferred(store, monkeypatch):
    """With PREFECT_API_URL set and the deployment found, the job is scheduled there, not run in-process."""
    from serving.jobs import JobSpec, TrainingJobs

    calls = []

    def fail(**_):  # the local flow must not run
        raise AssertionError("ran locally")

    jobs = TrainingJobs(store, {"VOLATILITY": JobSpec(fail, "volatility-pipeline/volatility-pipeline")})
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setattr(jobs, "_run_deployment", lambda name, params: calls.append((name, params)) or "run-1")
    job_id = jobs.submit("VOLATILITY", {"symbols": ["SYN"], "horizon": 5}, actor="admin")
    jobs.wait(job_id, 10)
    assert calls == [("volatility-pipeline/volatility-pipeline",
                      {"symbols": ["SYN"], "horizon": 5, "training_id": job_id, "actor": "admin"})]
    with get_engine(store).connect() as conn:
        details = conn.execute(select(AuditLog.details).where(AuditLog.action == "model.train.dispatched")).scalar_one()
    assert details == {"runner": "prefect-deployment:volatility-pipeline/volatility-pipeline", "flow_run_id": "run-1"}


def test_no_deployment_falls_back_to_a_thread(store, monkeypatch):
    from serving.jobs import JobSpec, TrainingJobs

    ran = []
    jobs = TrainingJobs(store, {"VOLATILITY": JobSpec(lambda **kw: ran.append(kw), "volatility-pipeline/x")})
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # nothing listens there
    job_id = jobs.submit("VOLATILITY", {"symbols": None, "horizon": 5}, actor="admin")
    jobs.wait(job_id, 60)
    assert ran == [{"symbols": None, "horizon": 5, "training_id": job_id, "actor": "admin"}]
