"""``POST /ml/bars``: the push API (contract, per-row reasons, quarantine, idempotent re-push, auth, limits)."""

from __future__ import annotations

from prefect.settings import PREFECT_API_URL
from sqlalchemy import func, select

from store.bars import read_bars
from store.db import session_scope
from store.models import AuditLog, QuarantinedRow
from store.users import create_user
from tests.serving.conftest import headers

FEEDER_KEY = {"X-API-Key": "key-feeder-0123456789"}


def _bar(ts: str, symbol: str = "PUSH", close: float = 10.0, **over):
    bar = {"symbol": symbol, "timeframe": "1d", "ts": ts, "open": 10.0, "high": 11.0, "low": 9.0,
           "close": close, "volume": 100}
    return {**bar, **over}


def _feeder(url: str) -> None:
    create_user(url, "feed", key=FEEDER_KEY["X-API-Key"], role="feeder")


def _quarantined(url: str) -> int:
    with session_scope(url) as s:
        return int(s.execute(select(func.count()).select_from(QuarantinedRow)).scalar_one())


def test_valid_push_stores_bars_and_repush_changes_nothing(client, store):
    _feeder(store)
    body = {"bars": [_bar(f"2024-01-0{d}") for d in range(1, 6)] + [_bar("2024-01-01", symbol="PUSH2")],
            "source": "test-feed"}
    r = client.post("/ml/bars", json=body, headers=FEEDER_KEY)
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["received"], out["inserted"], out["merged"], out["quarantined"]) == (6, 6, 0, 0)
    assert out["source"] == "push:feed:test-feed" and out["rejected"] == []
    # an arrival event only when a Prefect API is configured (the session's test harness, if an earlier module
    # started it); a re-push of the same bars announces nothing either way
    assert (out["event_id"] is not None) == bool(PREFECT_API_URL.value())
    series = {(s["symbol"], s["timeframe"]): s for s in out["series"]}
    assert series[("PUSH", "1d")]["first_ts"].startswith("2024-01-01")
    assert series[("PUSH", "1d")]["last_ts"].startswith("2024-01-05") and series[("PUSH", "1d")]["inserted"] == 5
    assert len(read_bars(store, "PUSH", "1d")) == 5
    again = client.post("/ml/bars", json=body, headers=FEEDER_KEY).json()
    assert (again["inserted"], again["merged"], again["quarantined"]) == (0, 6, 0) and again["event_id"] is None
    assert len(read_bars(store, "PUSH", "1d")) == 5
    with session_scope(store) as s:
        actions = s.execute(select(AuditLog.action).where(AuditLog.action == "bars.push")).scalars().all()
    assert len(actions) == 2


def test_mixed_push_keeps_valid_rows_and_quarantines_the_rest_with_reasons(client, store):
    _feeder(store)
    bars = [_bar("2024-02-01"), _bar("2024-02-02", open="abc"), _bar("2024-02-03", high="Infinity"),
            _bar("2024-02-04", volume=-5), _bar("2024-02-05", close="12.5", high="13"), _bar("2024-02-01"),
            _bar("not a date"), _bar("2024-02-06", low=None), _bar("2024-02-07", close=1e308, high=1e308)]
    r = client.post("/ml/bars", json={"bars": bars}, headers=FEEDER_KEY)
    assert r.status_code == 200, r.text
    out = r.json()
    reasons = {x["index"]: x["reason"] for x in out["rejected"]}
    assert set(reasons) == {1, 2, 3, 5, 6, 7}, reasons
    assert "open: not a number" in reasons[1] and "high: not finite" in reasons[2]
    assert "volume" in reasons[3] and "unique timestamp" in reasons[5] and "ts: not a timestamp" in reasons[6]
    assert "low" in reasons[7] and out["rejected"][0]["ts"] == "2024-02-02"
    assert (out["received"], out["inserted"], out["quarantined"]) == (9, 3, 6)
    stored = read_bars(store, "PUSH", "1d")
    assert len(stored) == 3 and float(stored["close"].iloc[1]) == 12.5
    assert _quarantined(store) == 6
    again = client.post("/ml/bars", json={"bars": bars}, headers=FEEDER_KEY).json()
    assert again["inserted"] == 0 and again["quarantined"] == 6 and _quarantined(store) == 6


def test_push_limits_and_body_types_answer_422_naming_the_field(client, store):
    _feeder(store)
    too_many = client.post("/ml/bars", json={"bars": [_bar("2024-01-01")] * 10_001}, headers=FEEDER_KEY)
    assert too_many.status_code == 422 and too_many.json()["fields"] == ["bars"]
    empty = client.post("/ml/bars", json={"bars": []}, headers=FEEDER_KEY)
    assert empty.status_code == 422 and empty.json()["fields"] == ["bars"]
    for body in ([], "bars", 5, None, {"bars": "x"}, {"bars": [5]}, {"bars": [_bar("2024-01-01")], "extra": 1},
                 {"bars": [_bar("2024-01-01", open=[1])]}, {"bars": [_bar("2024-01-01", volume=True)]},
                 {"bars": [_bar("2024-01-01")], "source": "x" * 65}):
        r = client.post("/ml/bars", json=body, headers=FEEDER_KEY)
        assert r.status_code == 422, (body, r.status_code, r.text)
    assert read_bars(store, "PUSH", "1d").empty


def test_push_needs_a_feeder_or_admin_key(client, store):
    _feeder(store)
    body = {"bars": [_bar("2024-03-01")]}
    assert client.post("/ml/bars", json=body).status_code == 401
    plain = client.post("/ml/bars", json=body, headers=headers("alice"))
    assert plain.status_code == 403 and "feeder" in plain.json()["error"]
    assert client.post("/ml/bars", json=body, headers=FEEDER_KEY).status_code == 200
    admin = client.post("/ml/bars", json={"bars": [_bar("2024-03-02")]}, headers=headers("admin"))
    assert admin.status_code == 200 and admin.json()["source"] == "push:admin"
    assert len(read_bars(store, "PUSH", "1d")) == 2


def test_cli_creates_a_feeder(store):
    from typer.testing import CliRunner

    from abtpro.cli_users import users_app
    from store.users import verify_key

    result = CliRunner().invoke(users_app, ["create", "feed2", "--role", "feeder"])
    assert result.exit_code == 0, result.output
    user = verify_key(store, result.output.strip().splitlines()[-1])
    assert user is not None and user.role == "feeder" and not user.is_admin and user.may("feeder")
    bad = CliRunner().invoke(users_app, ["create", "feed3", "--role", "boss"])
    assert bad.exit_code == 2 and "unknown role" in bad.output


def test_openapi_documents_the_push_route(client):
    spec = client.get("/docs.json").json()
    op = spec["paths"]["/ml/bars"]["post"]
    assert "feeder" in op["description"].lower() and op["security"] == [{"X-API-Key": []}]
    assert {"200", "401", "403", "422"} <= set(op["responses"])
    assert "BarsPushRequest" in str(op["requestBody"]) and "BarsPushResult" in str(op["responses"]["200"])


def test_push_emits_the_arrival_event_with_a_prefect_api(prefect_harness, clean_db):
    from serving.routes.bars import store_push
    from serving.schemas import BarsPushRequest

    request = BarsPushRequest(bars=[_bar("2024-04-01"), _bar("2024-04-02", open="x")])
    out = store_push(clean_db, request, "push:feed", "feed")
    assert out.inserted == 1 and out.quarantined == 1 and out.event_id
    again = store_push(clean_db, request, "push:feed", "feed")
    # re-pushing the same bars changes nothing downstream either: no new bar, no event, no backfill/monitoring runs
    assert again.inserted == 0 and again.merged == 1 and again.event_id is None
