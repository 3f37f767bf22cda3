"""``/ml/risk/*``: sizing, stops and regime answer what :mod:`ml.risk` computes from the champion forecast, store
that forecast, audit the decision, and refuse bad input with a 4xx naming the field."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from ml import risk
from store.db import session_scope
from store.models import AuditLog, VolatilityPrediction
from tests.serving import support
from tests.serving.conftest import headers

ALICE = headers("alice")


def _count(url: str, model, **where) -> int:
    with session_scope(url) as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(s.execute(q).scalar_one())


def test_position_size_runs_at_the_target_volatility_of_the_stored_forecast(client, store):
    r = client.post("/ml/risk/position_size", json={"symbol": "SYN", "equity": 100_000, "target_volatility": 0.1,
                                                     "max_leverage": 50}, headers=ALICE)
    assert r.status_code == 200, r.text
    out = r.json()
    close = float(support.garch_bars()["close"].iloc[-1])
    assert out["price"] == pytest.approx(close)
    assert out["leverage"] == pytest.approx(0.1 / out["forecast"]["annualised"])
    assert out["units"] == pytest.approx(out["leverage"] * 100_000 / close) and not out["capped"]
    assert out["leverage_at_upper"] < out["leverage"]  # sized at the interval's upper bound: smaller
    assert _count(store, VolatilityPrediction, id=out["forecast"]["id"]) == 1
    assert _count(store, AuditLog, action="risk.position_size") == 1
    capped = client.post("/ml/risk/position_size", json={"symbol": "SYN", "equity": 1000, "price": 10,
                                                          "target_volatility": 5.0, "max_leverage": 1.5},
                         headers=ALICE).json()
    assert capped["leverage"] == pytest.approx(1.5) and capped["capped"] and capped["units"] == pytest.approx(150)


def test_stops_are_the_ml_levels_around_the_entry(client, store):
    out = client.post("/ml/risk/stops", json={"symbol": "SYN", "side": "SELL", "price": 100.0, "horizon_bars": 4,
                                               "stop_multiple": 1.5, "take_multiple": 2.5}, headers=ALICE).json()
    expected = risk.volatility_stops(100.0, -1, out["forecast"]["predicted"], 4, 1.5, 2.5)
    assert out["stop_loss"] == pytest.approx(expected.stop_loss) and out["stop_loss"] > 100 > out["take_profit"]
    assert out["take_profit"] == pytest.approx(expected.take_profit)
    assert out["move"] == pytest.approx(out["forecast"]["predicted"] * 2)
    default = client.post("/ml/risk/stops", json={"symbol": "SYN", "side": "BUY"}, headers=ALICE).json()
    assert default["horizon_bars"] == default["forecast"]["horizon_bars"]
    assert default["stop_loss"] < default["price"] < default["take_profit"]


def test_regime_places_the_latest_forecast_in_the_series_history(client, store):
    r = client.post("/ml/risk/regime", json={"symbol": "SYN", "lookback": 120}, headers=ALICE)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["n_history"] == 120 and out["low_threshold"] < out["high_threshold"]
    expected = ("low" if out["current"] < out["low_threshold"] else
                "high" if out["current"] > out["high_threshold"] else "normal")
    assert out["regime"] == expected and out["current"] == out["forecast"]["predicted"]
    assert _count(store, AuditLog, action="risk.regime") == 1


@pytest.mark.parametrize(("path", "body", "status", "field"), [
    ("/ml/risk/position_size", {"symbol": "NOPE", "equity": 1, "target_volatility": 0.1}, 404, None),
    ("/ml/risk/position_size", {"symbol": "SYN", "equity": -5, "target_volatility": 0.1}, 422, "equity"),
    ("/ml/risk/position_size", {"symbol": "SYN", "equity": 1, "target_volatility": 0}, 422, "target_volatility"),
    ("/ml/risk/stops", {"symbol": "SYN", "side": "HOLD"}, 422, "side"),
    ("/ml/risk/stops", {"symbol": "SYN", "side": "BUY", "stop_multiple": 0}, 422, "stop_multiple"),
    ("/ml/risk/regime", {"symbol": "SYN", "low_quantile": 0.8, "high_quantile": 0.2}, 422, None),
    ("/ml/risk/regime", {"symbol": "SYN", "lookback": 5}, 422, "lookback"),
])
def test_bad_input_is_a_4xx_naming_the_field(client, store, path, body, status, field):
    r = client.post(path, json=body, headers=ALICE)
    assert r.status_code == status, r.text
    if field:
        assert field in r.json()["error"]


def test_the_risk_endpoints_need_a_key(client, store):
    for path in ("/ml/risk/position_size", "/ml/risk/stops", "/ml/risk/regime"):
        assert client.post(path, json={"symbol": "SYN"}).status_code == 401
