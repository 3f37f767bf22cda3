"""``GET /ml/audit`` (admin) reads the audit log with filters; refused admin attempts and failed jobs are audited."""

from __future__ import annotations

from store import optimizations as opt
from store import records
from tests.serving.conftest import headers


def test_admin_reads_the_audit_log_with_filters_and_others_are_refused_and_audited(client, store):
    client.post("/ml/risk/stops", json={"symbol": "SYN", "side": "BUY"}, headers=headers("alice"))
    client.post("/ml/risk/regime", json={"symbol": "SYN", "lookback": 60}, headers=headers("bob"))
    assert client.get("/ml/audit", headers=headers("alice")).status_code == 403
    assert client.post("/ml/models/reload", json={}, headers=headers("bob")).status_code == 403
    page = client.get("/ml/audit", headers=headers("admin")).json()
    actions = [(i["actor"], i["action"]) for i in page["items"]]
    assert page["total"] == 4 and actions == [("bob", "denied"), ("alice", "denied"), ("bob", "risk.regime"),
                                              ("alice", "risk.stops")]
    denied = client.get("/ml/audit", params={"action": "denied", "actor": "alice"}, headers=headers("admin")).json()
    assert denied["total"] == 1 and denied["items"][0]["target"] == "GET /ml/audit"
    risk = client.get("/ml/audit", params={"action": "risk.*", "limit": 1}, headers=headers("admin")).json()
    assert risk["total"] == 2 and len(risk["items"]) == 1 and risk["items"][0]["action"] == "risk.regime"
    assert client.get("/ml/audit", params={"limit": 0}, headers=headers("admin")).status_code == 422
    assert client.get("/ml/audit").status_code == 401


def test_failed_jobs_are_audited_once(client, store):
    job = opt.create(store, "sma_crossover", "SYN", "1d", "OPTUNA")
    opt.fail(store, job, "ValueError: no stored bars")
    training = records.start_training(store, "VOLATILITY", {}, {})
    assert records.finish_training(store, training, status="FAILED", error="boom")
    assert not records.finish_training(store, training, status="FAILED", error="again", unless_finished=True)
    items = client.get("/ml/audit", params={"action": "*"}, headers=headers("admin")).json()["items"]
    failed = {(i["action"], i["target"]): i["details"] for i in items if i["action"].endswith(".failed")}
    assert failed == {("tune.failed", f"strategy_optimization/{job}"): {"error": "ValueError: no stored bars"},
                      ("model.train.failed", f"job:{training}"): {"error": "boom"}}
