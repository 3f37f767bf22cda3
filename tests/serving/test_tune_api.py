"""/ml/tune/*: auth, validation, owner scoping, a real non-blocking tune run on GOOG, results, apply, audit."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from store import optimizations as opt
from store.db import get_engine
from store.models import AuditLog
from store.users import verify_key
from tests.serving import support
from tests.serving.conftest import headers

START = {"strategy": "sma_crossover", "symbol": "GOOG", "timeframe": "1d", "method": "OPTUNA", "budget": 10,
         "n_windows": 2, "seed": 0}
ENDPOINTS = [("POST", "/ml/tune/start", START), ("GET", "/ml/tune/status/1", None),
             ("GET", "/ml/tune/results/1", None), ("POST", "/ml/tune/apply", {"job_id": 1})]


@pytest.fixture(autouse=True)
def _no_straggling_tune_threads():
    """Join the service's tuning threads after each test: a thread that outlives its test would touch the next
    test's rows (the store is emptied between tests, so job ids are reused)."""
    yield
    for thread in threading.enumerate():
        if thread.name.startswith("abtpro-tune-"):
            thread.join(60)
            assert not thread.is_alive(), f"{thread.name} still running"


def _audit(url: str) -> list[tuple[str, str, str]]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(select(AuditLog.actor, AuditLog.action, AuditLog.target)
                                                .order_by(AuditLog.id)).all()]


def _user_id(url: str, name: str) -> int:
    return verify_key(url, support.KEYS[name]).id


def _ingest_goog(url: str) -> None:
    from ml.datasets import load_sample
    from store.bars import upsert_bars

    upsert_bars(url, support.long_frame(load_sample("GOOG"), "GOOG"))


def _completed(url: str, owner: str, recommended: bool) -> int:
    """A COMPLETED sma_crossover/GOOG row written directly (no tuning run)."""
    oid = opt.create(url, "sma_crossover", "GOOG", "1d", "RANDOM", user_id=_user_id(url, owner),
                     original_params={"fast": 10, "slow": 30}, request={"budget": 10})
    opt.start(url, "sma_crossover", "GOOG", "1d", "RANDOM", optimization_id=oid)
    opt.complete(url, oid, optimized_params={"fast": 12, "slow": 40}, original_params={"fast": 10, "slow": 30},
                 performance={"recommended": recommended, "oos_improvement": 0.1 if recommended else -0.2,
                              "deflated_sharpe": 0.4, "pbo": 0.3, "before": {"oos_sharpe": 0.5},
                              "after": {"oos_sharpe": 0.6}, "windows": [], "mlflow_run_id": "run-x"})
    return oid


def _wait_done(client, job_id: int, user: str = "alice", timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = client.get(f"/ml/tune/status/{job_id}", headers=headers(user))
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("COMPLETED", "FAILED"):
            return r.json()
        time.sleep(0.2)
    raise AssertionError(f"tuning job {job_id} not finished after {timeout}s")


# ------------------------------------------------------------------------------ auth and validation


@pytest.mark.parametrize("method,path,body", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_every_tune_endpoint_needs_a_valid_key(client, store, method, path, body):
    for hdrs in ({}, {"X-API-Key": "wrong"}):
        r = client.request(method, path, json=body, headers=hdrs)
        assert r.status_code == 401, (hdrs, r.text)
        assert "API key" in r.json()["error"]


def test_apply_is_admin_only(client, store):
    oid = _completed(store, "alice", recommended=True)
    r = client.post("/ml/tune/apply", json={"job_id": oid}, headers=headers("alice"))
    assert r.status_code == 403 and "admin-only" in r.json()["error"]
    # refused: nothing changed; only the refusal itself is audited
    assert not opt.get(store, oid).applied and _audit(store) == [("alice", "denied", "POST /ml/tune/apply")]


@pytest.mark.parametrize("change,field", [
    ({"strategy": "no_such_strategy"}, "strategy"), ({"method": "GRADIENT_DESCENT"}, "method"),
    ({"budget": 5}, "budget"), ({"budget": 501}, "budget"), ({"n_windows": 1}, "n_windows"),
    ({"n_windows": 9}, "n_windows"), ({"seed": -1}, "seed"), ({"timeframe": "daily"}, "timeframe"),
    ({"symbol": "a b"}, "symbol"), ({"bogus": 1}, "bogus"),
])
def test_invalid_start_is_422_naming_the_field(client, store, change, field):
    r = client.post("/ml/tune/start", json={**START, **change}, headers=headers("alice"))
    assert r.status_code == 422, r.text
    assert r.json()["fields"] == [field]
    assert opt.list_optimizations(store) == []


def test_method_is_case_insensitive_and_stored_upper_case(client, store, monkeypatch):
    _ingest_goog(store)
    started = []
    monkeypatch.setattr("serving.tuning.TuneJobs._dispatch", lambda self, *args: started.append(args))
    r = client.post("/ml/tune/start", json={**START, "method": "rl_bandit"}, headers=headers("alice"))
    assert r.status_code == 202, r.text
    assert r.json()["method"] == "RL_BANDIT" and opt.get(store, r.json()["job_id"]).method == "RL_BANDIT"
    deadline = time.monotonic() + 10
    while not started and time.monotonic() < deadline:  # the dispatcher runs in a thread
        time.sleep(0.02)
    assert started and started[0][1]["method"] == "RL_BANDIT"


def test_unknown_symbol_and_unknown_job_are_404(client, store):
    r = client.post("/ml/tune/start", json={**START, "symbol": "NOPE"}, headers=headers("alice"))
    assert r.status_code == 404 and "NOPE" in r.json()["error"]
    assert opt.list_optimizations(store) == [] and _audit(store) == []  # nothing queued
    for path in ("/ml/tune/status/424242", "/ml/tune/results/424242"):
        assert client.get(path, headers=headers("admin")).status_code == 404
    r = client.post("/ml/tune/apply", json={"job_id": 424242}, headers=headers("admin"))
    assert r.status_code == 404 and "424242" in r.json()["error"]
    assert client.get("/ml/tune/status/abc", headers=headers("alice")).status_code == 422


# ------------------------------------------------------------------------------ a real run


@pytest.mark.slow
def test_start_returns_at_once_and_the_job_completes(client, store, prefect_harness):
    _ingest_goog(store)
    t0 = time.monotonic()
    r = client.post("/ml/tune/start", json=START, headers=headers("alice"))
    elapsed = time.monotonic() - t0
    assert r.status_code == 202, r.text
    job = r.json()
    assert elapsed < 5.0, f"start blocked for {elapsed:.1f}s"
    assert job["status"] in ("PENDING", "RUNNING") and job["job_id"] >= 1
    assert (job["strategy"], job["symbol"], job["method"], job["budget"], job["n_windows"]) == (
        "sma_crossover", "GOOG", "OPTUNA", 10, 2)
    job_id = job["job_id"]

    done = _wait_done(client, job_id)
    assert done["status"] == "COMPLETED", done
    assert done["error"] is None and done["started_at"] is not None and done["finished_at"] is not None
    assert done["started_at"] <= done["finished_at"] and done["request"]["budget"] == 10

    res = client.get(f"/ml/tune/results/{job_id}", headers=headers("alice"))
    assert res.status_code == 200, res.text
    body = res.json()
    row = opt.get(store, job_id)
    assert body["original_params"] == {"fast": 10, "slow": 30}
    assert body["optimized_params"] == row.optimized_params and set(body["optimized_params"]) == {"fast", "slow"}
    assert body["method"] == "OPTUNA" and body["recommended"] is row.recommended and body["applied"] is False
    assert len(body["windows"]) == 2
    for w in body["windows"]:
        assert set(w["in_sample"]) == set(w["out_of_sample"]) == {"default", "tuned"}
        assert "sharpe" in w["out_of_sample"]["tuned"] and "sharpe" in w["in_sample"]["default"]
    assert body["before"] == row.performance["before"] and body["after"] == row.performance["after"]
    assert body["before"] and body["after"]
    assert 0 <= body["deflated_sharpe"] <= 1 and 0 <= body["pbo"] <= 1
    assert body["mlflow_run_id"] == row.performance["mlflow_run_id"] and body["mlflow_run_id"]
    assert body["pareto_front"] and body["pareto_front"] == row.performance["pareto_front"]
    assert {"params", "total_return", "max_drawdown"} == set(body["pareto_front"][0])
    assert body["recommended"] is (not body["not_recommended_because"])

    # owner scoping: bob sees nothing, the admin sees everything
    for path in (f"/ml/tune/status/{job_id}", f"/ml/tune/results/{job_id}"):
        assert client.get(path, headers=headers("bob")).status_code == 404
        assert client.get(path, headers=headers("admin")).status_code == 200

    # apply: a non-recommended result needs force; a recommended one does not
    if not body["recommended"]:
        r = client.post("/ml/tune/apply", json={"job_id": job_id}, headers=headers("admin"))
        assert r.status_code == 409 and "not recommended" in r.json()["error"]
    r = client.post("/ml/tune/apply", json={"job_id": job_id, "force": not body["recommended"]},
                    headers=headers("admin"))
    assert r.status_code == 200, r.text
    assert r.json()["params"] == body["optimized_params"] == opt.active_params(store, "sma_crossover", "GOOG", "1d")
    assert r.json()["forced"] is (not body["recommended"]) and r.json()["applied_by"] == "admin"
    target = f"strategy_optimization/{job_id}"
    assert _audit(store) == [("alice", "tune", target), ("alice", "tune.dispatched", target),
                             ("admin", "apply", target)]


# ------------------------------------------------------------------------------ results and apply rules


def test_results_before_completion_are_409_and_failed_jobs_report_the_error(client, store):
    pending = opt.create(store, "sma_crossover", "GOOG", "1d", "OPTUNA", user_id=_user_id(store, "alice"))
    r = client.get(f"/ml/tune/results/{pending}", headers=headers("alice"))
    assert r.status_code == 409 and "PENDING" in r.json()["error"]
    status = client.get(f"/ml/tune/status/{pending}", headers=headers("alice")).json()
    assert status["status"] == "PENDING" and status["started_at"] is None and status["finished_at"] is None
    assert client.get(f"/ml/tune/status/{pending}", headers=headers("bob")).status_code == 404

    failed = opt.create(store, "sma_crossover", "GOOG", "1d", "OPTUNA", user_id=_user_id(store, "bob"))
    opt.fail(store, failed, "ValueError: no stored bars")
    status = client.get(f"/ml/tune/status/{failed}", headers=headers("bob")).json()
    assert status["status"] == "FAILED" and status["error"] == "ValueError: no stored bars"
    assert status["finished_at"] is not None
    r = client.get(f"/ml/tune/results/{failed}", headers=headers("bob"))
    assert r.status_code == 409 and "no stored bars" in r.json()["error"]
    assert client.get(f"/ml/tune/results/{failed}", headers=headers("alice")).status_code == 404
    r = client.post("/ml/tune/apply", json={"job_id": pending, "force": True}, headers=headers("admin"))
    assert r.status_code == 409 and "not COMPLETED" in r.json()["error"]


def test_apply_refuses_a_non_recommended_result_unless_forced(client, store):
    oid = _completed(store, "alice", recommended=False)
    r = client.post("/ml/tune/apply", json={"job_id": oid}, headers=headers("admin"))
    assert r.status_code == 409 and "not recommended" in r.json()["error"]
    assert opt.active_params(store, "sma_crossover", "GOOG", "1d") is None and _audit(store) == []
    r = client.post("/ml/tune/apply", json={"job_id": oid, "force": True}, headers=headers("admin"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["params"] == {"fast": 12, "slow": 40} and body["forced"] is True and body["recommended"] is False
    assert (body["strategy"], body["symbol"], body["timeframe"]) == ("sma_crossover", "GOOG", "1d")
    assert opt.get(store, oid).applied and _audit(store) == [("admin", "apply", f"strategy_optimization/{oid}")]
    results = client.get(f"/ml/tune/results/{oid}", headers=headers("alice")).json()
    assert results["applied"] is True and results["mlflow_run_id"] == "run-x"


def test_recommended_result_applies_without_force_and_supersedes(client, store):
    first = _completed(store, "alice", recommended=False)
    client.post("/ml/tune/apply", json={"job_id": first, "force": True}, headers=headers("admin"))
    second = _completed(store, "bob", recommended=True)
    r = client.post("/ml/tune/apply", json={"job_id": second}, headers=headers("admin"))
    assert r.status_code == 200 and r.json()["forced"] is False
    assert not opt.get(store, first).applied and opt.get(store, second).applied


# ------------------------------------------------------------------------------ the job runner


def test_a_run_that_fails_before_the_flow_starts_marks_the_row_failed(store):
    from serving.schemas import TuneRequest
    from serving.tuning import TuneJobs

    def broken(**_):
        raise RuntimeError("flow could not start")

    jobs = TuneJobs(store, flow=broken, use_deployments=False)
    user = verify_key(store, support.KEYS["alice"])
    job_id = jobs.submit(TuneRequest(**START), user)
    jobs.wait(job_id, 30)
    row = opt.get(store, job_id)
    assert row.status == "FAILED" and "flow could not start" in row.error and row.user_id == user.id


def test_thread_start_failure_fails_the_row(store, monkeypatch):
    import threading

    from serving.schemas import TuneRequest
    from serving.tuning import JobStartError, TuneJobs

    def refuse(self):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    jobs = TuneJobs(store, flow=lambda **_: None, use_deployments=False)
    with pytest.raises(JobStartError):
        jobs.submit(TuneRequest(**START), verify_key(store, support.KEYS["alice"]))
    [row] = opt.list_optimizations(store)
    assert row.status == "FAILED" and "can't start new thread" in row.error


def test_a_reachable_deployment_is_preferred(store, monkeypatch):
    from serving.schemas import TuneRequest
    from serving.tuning import TUNE_DEPLOYMENT, TuneJobs

    def fail(**_):  # the local flow must not run
        raise AssertionError("ran locally")

    calls = []
    jobs = TuneJobs(store, flow=fail)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.setattr(jobs, "_run_deployment", lambda name, params: calls.append((name, params)) or "run-1")
    user = verify_key(store, support.KEYS["bob"])
    job_id = jobs.submit(TuneRequest(**START), user)
    jobs.wait(job_id, 10)
    assert calls == [(TUNE_DEPLOYMENT, {"strategy": "sma_crossover", "symbol": "GOOG", "timeframe": "1d",
                                        "method": "OPTUNA", "budget": 10, "n_windows": 2, "seed": 0,
                                        "optimization_id": job_id, "user_id": user.id})]
    assert opt.get(store, job_id).status == "PENDING"  # the deployment's worker runs it
    with get_engine(store).connect() as conn:
        details = conn.execute(select(AuditLog.details).where(AuditLog.action == "tune.dispatched")).scalar_one()
    assert details == {"runner": f"prefect-deployment:{TUNE_DEPLOYMENT}", "flow_run_id": "run-1"}


# ------------------------------------------------------------------------------ quotas (issue 18)


def test_tuning_quotas_answer_429_with_retry_after(client, store):
    _ingest_goog(store)
    alice = _user_id(store, "alice")
    for _ in range(2):  # two of alice's jobs still PENDING: the per-key limit (default 2)
        opt.create(store, "sma_crossover", "GOOG", "1d", "RANDOM", user_id=alice, original_params={}, request={})
    before = len(opt.list_optimizations(store))
    r = client.post("/ml/tune/start", json=START, headers=headers("alice"))
    assert r.status_code == 429, r.text
    assert "ABTPRO_SERVING_TUNE_MAX_OPEN_PER_USER=2" in r.json()["error"] and int(r.headers["retry-after"]) > 0
    assert len(opt.list_optimizations(store)) == before  # refused: no row, no run


def test_check_quota_counts_open_jobs_per_key_and_in_all_and_jobs_per_day(store):
    from datetime import timedelta

    from serving.tuning import QuotaError, check_quota
    from store.models import utcnow
    from store.users import ApiUser

    alice, bob = verify_key(store, support.KEYS["alice"]), verify_key(store, support.KEYS["bob"])
    admin = verify_key(store, support.KEYS["admin"])
    assert isinstance(alice, ApiUser) and not alice.is_admin and admin.is_admin
    oid = opt.create(store, "sma_crossover", "GOOG", "1d", "RANDOM", user_id=alice.id, original_params={}, request={})
    check_quota(store, alice, 2, 0, 0)  # one open job: fine
    with pytest.raises(QuotaError, match="MAX_OPEN_PER_USER=1"):
        check_quota(store, alice, 1, 0, 0)
    check_quota(store, bob, 1, 0, 0)  # alice's job is not bob's
    check_quota(store, admin, 1, 0, 0)  # admins have no per-key limit ...
    with pytest.raises(QuotaError, match="MAX_OPEN_TOTAL=1"):
        check_quota(store, admin, 0, 0, 1)  # ... but the service-wide one holds for everybody
    # a job open for longer than STALE_HOURS (a run lost with a crashed service) no longer counts
    check_quota(store, alice, 1, 0, 0, now=utcnow() + timedelta(hours=7))
    opt.fail(store, oid, "done")
    check_quota(store, alice, 1, 0, 0)  # finished jobs are not open
    with pytest.raises(QuotaError, match="MAX_JOBS_PER_DAY=1") as info:
        check_quota(store, alice, 0, 1, 0)  # but count towards the day
    assert 0 < info.value.retry_after <= 86_400
    check_quota(store, alice, 0, 1, 0, now=utcnow() + timedelta(days=1, seconds=5))
