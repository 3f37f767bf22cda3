"""``POST /ml/models/webhook``: MLflow's signed alias webhook -> an audit row naming the approver and the
champion swapped before the answer (in process; the real MLflow server with logins is
tests/integration/test_approvals_mlflow_auth.py)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from mlflow import MlflowClient

from registry import approvals
from registry.auth_app import record
from store import records
from tests.serving import support
from tests.serving.conftest import headers, make_client

SECRET = "test-webhook-secret"
MODEL = "abtpro-volatility"


@pytest.fixture(scope="module")
def client(registry_store: dict, db_url: str):
    with make_client(support.service_env(registry_store["uri"], ABTPRO_MLFLOW_WEBHOOK_SECRET=SECRET)) as c:
        yield c


def _delivery(data: dict, action: str = "created", entity: str = "model_version_alias", secret: str = SECRET,
              stamp: int | None = None, delivery_id: str | None = None) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"entity": entity, "action": action, "timestamp": "2026-12-03T00:00:00+00:00",
                       "data": data}).encode()
    delivery_id = delivery_id or str(uuid.uuid4())
    stamp_s = str(int(time.time()) if stamp is None else stamp)
    return body, {"Content-Type": "application/json", approvals.DELIVERY_HEADER: delivery_id,
                  approvals.TIMESTAMP_HEADER: stamp_s,
                  approvals.SIGNATURE_HEADER: approvals.signature(secret, delivery_id, stamp_s, body)}


def _post(client, body: bytes, sent: dict[str, str]):
    return client.post("/ml/models/webhook", content=body, headers=sent)


def test_signature_is_mlflows():
    """The signature the service checks is the one MLflow computes (fails if MLflow changes its scheme)."""
    from mlflow.webhooks.delivery import _generate_hmac_signature

    body = b'{"entity": "model_version_alias"}'
    assert approvals.signature("s", "d-1", "1700000000", body) == _generate_hmac_signature(
        "s", "d-1", "1700000000", body.decode())


def test_unsigned_wrongly_signed_or_stale_deliveries_are_401(client, store):
    data = {"name": MODEL, "alias": "champion", "version": "2"}
    body, sent = _delivery(data)
    assert _post(client, body, {"Content-Type": "application/json"}).status_code == 401
    wrong = _post(client, *_delivery(data, secret="not-the-secret"))
    assert wrong.status_code == 401 and "does not match" in wrong.json()["error"]
    stale = _post(client, *_delivery(data, stamp=int(time.time()) - 3600))
    assert stale.status_code == 401 and "replay" in stale.json()["error"]
    tampered = {**sent}
    assert _post(client, body.replace(b'"2"', b'"1"'), tampered).status_code == 401
    assert records.audit_page(store, action="alias.*")[0] == 0


def test_signed_garbage_is_422_and_other_events_are_ignored(client, store):
    _, sent = _delivery({})
    assert _post(client, b"[1, 2]", {**sent, approvals.SIGNATURE_HEADER: approvals.signature(
        SECRET, sent[approvals.DELIVERY_HEADER], sent[approvals.TIMESTAMP_HEADER], b"[1, 2]")}).status_code == 422
    other = _post(client, *_delivery({"name": MODEL, "version": "2"}, entity="model_version"))
    assert other.status_code == 200 and other.json()["handled"] is False
    unknown = _post(client, *_delivery({"name": "someone-elses-model", "alias": "champion", "version": "1"}))
    assert unknown.status_code == 200 and unknown.json()["handled"] is False
    assert records.audit_page(store, action="alias.*")[0] == 0


def test_champion_set_by_an_approver_is_audited_and_served_at_once(client, store, registry_store):
    uri, versions = registry_store["uri"], registry_store["versions"]
    mlflow = MlflowClient(tracking_uri=uri, registry_uri=uri)
    old, new = versions["volatility_har_gk_log"], versions["volatility_xgb"]
    listed = client.get("/ml/models/list", headers=headers("alice")).json()["models"]
    assert {m["name"]: m["serving"]["version"] for m in listed}[MODEL] == old
    record(mlflow, MODEL, "champion", "created", new, "carol-approver")  # what the MLflow login app writes
    mlflow.set_registered_model_alias(MODEL, "champion", new)
    body, sent = _delivery({"name": MODEL, "alias": "champion", "version": new})
    answer = _post(client, body, sent)
    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert out["handled"] and out["approver"] == "carol-approver" and out["previous"] == old
    assert out["serving"] == {"name": MODEL, "version": new}  # swapped before the answer, no poll (poll is off)
    assert client.post("/ml/volatility/predict", json={"symbol": support.SYMBOL},
                       headers=headers("alice")).json()["model"]["version"] == new
    total, rows = records.audit_page(store, action="alias.*")
    assert total == 1 and rows[0].actor == "carol-approver" and rows[0].action == "alias.created"
    assert rows[0].details["previous"] == old and rows[0].details["served_after"] == new
    again = _post(client, body, sent)  # MLflow retrying the same delivery
    assert again.json()["duplicate"] is True and records.audit_page(store, action="alias.*")[0] == 1
    seen = client.get("/ml/audit", params={"action": "alias.*"}, headers=headers("admin")).json()
    assert [r["actor"] for r in seen["items"]] == ["carol-approver"]

    # moved with no record of who (a server without the login app): audited as unknown, still swapped
    mlflow.set_registered_model_alias(MODEL, "champion", old)
    out = _post(client, *_delivery({"name": MODEL, "alias": "champion", "version": old})).json()
    assert out["approver"] is None and out["serving"]["version"] == old and out["previous"] == new
    assert records.audit_page(store, action="alias.created")[1][0].actor == "unknown"

    # the alias removed: audited with who removed which version; the service keeps serving (fail safe)
    record(mlflow, MODEL, "champion", "deleted", None, "carol-approver")
    mlflow.delete_registered_model_alias(MODEL, "champion")
    out = _post(client, *_delivery({"name": MODEL, "alias": "champion"}, action="deleted")).json()
    assert out["approver"] == "carol-approver" and out["version"] == old and out["serving"]["version"] == old
    mlflow.set_registered_model_alias(MODEL, "champion", old)


def test_approver_of_needs_a_fresh_record_of_that_very_change():
    change = approvals.AliasChange(MODEL, "champion", "created", "3", "d")
    tags = {approvals.alias_tag("champion"): approvals.change_record("dan", "created", "3", "2", now=1000.0)}
    assert approvals.approver_of(tags, change, now=1010.0) == {"by": "dan", "previous": "2"}
    assert approvals.approver_of(tags, change, now=1000.0 + 3600)["by"] is None  # stale record
    other = approvals.AliasChange(MODEL, "champion", "created", "4", "d")
    assert approvals.approver_of(tags, other, now=1010.0)["by"] is None  # a record of another version
    assert approvals.approver_of({approvals.alias_tag("champion"): "not json"}, change)["by"] is None
