"""API keys: every /ml endpoint needs one; admin-only routes; docs and probes stay open; audit rows."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from store.db import get_engine
from store.models import AuditLog, User
from store.users import create_user, hash_key, verify_key
from tests.serving.conftest import headers

ENDPOINTS = [
    ("POST", "/ml/signal/score", {"symbol": "SYN", "strategy": "s", "side": "BUY"}),
    ("POST", "/ml/signal/score_batch", {"signals": [{"symbol": "SYN", "strategy": "s", "side": "BUY"}]}),
    ("GET", "/ml/signal/history", None),
    ("GET", "/ml/signal/stats", None),
    ("POST", "/ml/volatility/predict", {"symbol": "SYN"}),
    ("POST", "/ml/volatility/predict_batch", {"requests": [{"symbol": "SYN"}]}),
    ("GET", "/ml/volatility/history", None),
    ("GET", "/ml/volatility/accuracy", None),
    ("GET", "/ml/models/list", None),
    ("POST", "/ml/models/train", {"model_type": "VOLATILITY"}),
    ("GET", "/ml/models/performance", None),
    ("GET", "/ml/models/jobs/1", None),
    ("POST", "/ml/models/reload", {}),
]


@pytest.mark.parametrize("method,path,body", ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS])
def test_every_endpoint_needs_a_valid_key(client, store, method, path, body):
    for hdrs in ({}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}):
        r = client.request(method, path, json=body, headers=hdrs)
        assert r.status_code == 401, (hdrs, r.text)
        assert "API key" in r.json()["error"]


@pytest.mark.parametrize("path", ["/ml/models/train", "/ml/models/reload"])
def test_admin_only_routes(client, store, path):
    body = {"model_type": "VOLATILITY"} if path.endswith("train") else {}
    r = client.post(path, json=body, headers=headers("alice"))
    assert r.status_code == 403 and "admin" in r.json()["error"]
    with get_engine(store).connect() as conn:  # the refused call did nothing but leave its audit row
        rows = conn.execute(select(AuditLog.actor, AuditLog.action, AuditLog.target)).all()
    assert rows == [("alice", "denied", f"POST {path}")]


def test_reload_by_admin_is_audited(client, store):
    r = client.post("/ml/models/reload", json={}, headers=headers("admin"))
    assert r.status_code == 200, r.text
    assert set(r.json()["models"]) == {"abtpro-volatility", "abtpro-signal-quality"}
    with get_engine(store).connect() as conn:
        rows = conn.execute(select(AuditLog.actor, AuditLog.action)).all()
    assert rows == [("admin", "model.reload")]


def test_docs_and_probes_are_open(client, store):
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/docs.json").status_code == 200


def test_keys_are_stored_hashed(store):
    user, key = create_user(store, "carol")
    with get_engine(store).connect() as conn:
        stored = conn.execute(select(User.api_key_hash).where(User.name == "carol")).scalar_one()
    assert stored == hash_key(key) and key not in stored and len(stored) == 64
    assert verify_key(store, key) == user and verify_key(store, key + "x") is None and verify_key(store, None) is None


def test_cli_creates_a_user_and_prints_the_key(store):
    from typer.testing import CliRunner

    from abtpro.cli_users import users_app

    result = CliRunner().invoke(users_app, ["create", "dave", "--admin"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    user = verify_key(store, key)
    assert user is not None and user.name == "dave" and user.is_admin
    again = CliRunner().invoke(users_app, ["create", "dave"])
    assert again.exit_code == 2 and "already exists" in again.output
