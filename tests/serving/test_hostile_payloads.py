"""Issue 18, hostile payloads: non-finite numbers, lax types, inline bars (contract, order, future), origins past
the bars, and inline bars posing as a stored symbol's live data (flagged caller-supplied, out of monitoring)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from store.db import get_engine, session_scope
from store.models import MLSignalScore, QuarantinedRow, VolatilityPrediction
from tests.serving import support
from tests.serving.conftest import headers

SIGNAL = {"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY"}


def _post(client, path: str, text: str, user: str = "alice"):
    """POST a raw JSON text (``Infinity``, ``1e400`` ... are not what ``json=`` would send)."""
    return client.post(path, content=text.encode(),
                       headers={**headers(user), "Content-Type": "application/json"})


def _rows(url: str, model) -> list:
    with get_engine(url).connect() as conn:
        return conn.execute(select(model.symbol, model.caller_supplied).order_by(model.id)).all()


def _inline(n: int = 400, seed: int = 7) -> list[dict]:
    bars = support.garch_bars(n=n, seed=seed)
    return [{"ts": ts.isoformat(), **{k: float(v) for k, v in row.items()}} for ts, row in bars.iterrows()]


@pytest.mark.parametrize(("path", "text", "field"), [
    ("/ml/signal/score", '{"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY", "strength": Infinity}',
     "strength"),
    ("/ml/signal/score", '{"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY", "strength": 1e400}',
     "strength"),
    ("/ml/signal/score", '{"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY", "strength": NaN}',
     "strength"),
    ("/ml/signal/score_batch", ('{"signals": [{"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY", '
                               '"strength": -Infinity}]}'), "signals.0.strength"),
    ("/ml/volatility/predict", '{"symbol": "SYN", "coverage": NaN}', "coverage"),
    ("/ml/volatility/predict", ('{"symbol": "SYN", "bars": [{"ts": "2020-01-01", "open": 1, "high": 1e400, '
                               '"low": 1, "close": 1, "volume": 1}]}'), "bars.0.high"),
    ("/ml/volatility/predict_batch", ('{"requests": [{"symbol": "SYN"}, {"symbol": "SYN", "bars": [{"ts": '
                                     '"2020-01-01", "open": 1, "high": 1, "low": 1, "close": 1, "volume": '
                                     'Infinity}]}]}'), "requests.1.bars.0.volume"),
])
def test_non_finite_numbers_are_422_naming_the_field(client, store, path, text, field):
    r = _post(client, path, text)
    assert r.status_code == 422, r.text
    assert field in r.json()["fields"] and "finite" in r.json()["error"], r.json()
    assert _rows(store, VolatilityPrediction) == [] and _rows(store, MLSignalScore) == []


@pytest.mark.parametrize(("path", "body", "field", "user"), [
    ("/ml/signal/score", {**SIGNAL, "ts": 0.5}, "ts", "alice"),
    ("/ml/signal/score", {**SIGNAL, "ts": 1514764800}, "ts", "alice"),
    ("/ml/signal/score", {**SIGNAL, "explain": 0}, "explain", "alice"),
    ("/ml/signal/score", {**SIGNAL, "explain": "true"}, "explain", "alice"),
    ("/ml/volatility/predict", {"symbol": "SYN", "as_of": 1514764800.0}, "as_of", "alice"),
    ("/ml/volatility/predict", {"symbol": "SYN", "explain": 1}, "explain", "alice"),
    ("/ml/volatility/predict", {"symbol": "SYN", "bars": [{"ts": 0, "open": 1, "high": 1, "low": 1, "close": 1,
                                                           "volume": 1}]}, "bars.0.ts", "alice"),
    ("/ml/tune/apply", {"job_id": 1, "force": 0}, "force", "admin"),
])
def test_lax_types_are_422(client, store, path, body, field, user):
    r = client.post(path, json=body, headers=headers(user))
    assert r.status_code == 422, r.text
    assert field in r.json()["fields"], r.json()


def test_iso_datetimes_and_real_booleans_still_work(client, store):
    ts = str(support.garch_bars().index[-20].date())  # a date-only ISO string is a datetime at midnight
    r = client.post("/ml/signal/score", json={**SIGNAL, "ts": ts, "explain": False}, headers=headers("alice"))
    assert r.status_code == 200 and r.json()["ts"].startswith(ts), r.text
    r = client.post("/ml/volatility/predict", json={"symbol": "SYN", "as_of": f"{ts}T00:00:00+00:00",
                                                    "explain": True}, headers=headers("alice"))
    assert r.status_code == 200 and r.json()["as_of"].startswith(ts), r.text


def test_inline_bars_out_of_order_are_refused_not_resorted(client, store):
    bars = _inline()
    bars[10], bars[11] = bars[11], bars[10]
    r = client.post("/ml/volatility/predict", json={"symbol": "NEWSYM", "bars": bars}, headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["bars"], r.text
    assert "bars[11]" in r.json()["error"] and "strictly increasing" in r.json()["error"]
    dup = _inline()
    dup[5] = {**dup[5], "ts": dup[4]["ts"]}
    r = client.post("/ml/signal/score", json={**SIGNAL, "symbol": "NEWSYM", "bars": dup}, headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["bars"] and "bars[5]" in r.json()["error"], r.text
    assert _rows(store, VolatilityPrediction) == [] and _rows(store, MLSignalScore) == []


def test_inline_bars_in_the_future_are_refused_by_the_ingestion_contract(client, store):
    bars = _inline()
    tomorrow = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
    bars.append({**bars[-1], "ts": tomorrow.isoformat()})
    r = client.post("/ml/volatility/predict", json={"symbol": "NEWSYM", "bars": bars}, headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["bars"], r.text
    assert f"bars[{len(bars) - 1}]: ts: in the future" in r.json()["error"]
    batch = {"signals": [SIGNAL, {**SIGNAL, "bars": bars}]}
    r = client.post("/ml/signal/score_batch", json=batch, headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["signals.1.bars"], r.text


def test_origins_in_the_future_or_past_the_inline_bars_are_422(client, store):
    r = client.post("/ml/signal/score", json={**SIGNAL, "ts": "2999-01-01"}, headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["ts"] and "future" in r.json()["error"], r.text
    r = client.post("/ml/volatility/predict", json={"symbol": "SYN", "as_of": "2999-01-01T00:00:00Z"},
                    headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["as_of"], r.text
    bars = _inline()
    after = (pd.Timestamp(bars[-1]["ts"]) + pd.Timedelta(days=30)).isoformat()  # the past, but after the bars
    r = client.post("/ml/volatility/predict", json={"symbol": "NEWSYM", "bars": bars, "as_of": after},
                    headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["as_of"] and "last inline bar" in r.json()["error"]
    batch = {"requests": [{"symbol": "SYN"}, {"symbol": "NEWSYM", "bars": bars, "as_of": after}]}
    r = client.post("/ml/volatility/predict_batch", json=batch, headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["requests.1.as_of"], r.text
    r = client.post("/ml/signal/score", json={**SIGNAL, "symbol": "NEWSYM", "bars": bars, "ts": after},
                    headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["ts"], r.text
    assert _rows(store, VolatilityPrediction) == [] and _rows(store, MLSignalScore) == []
    # an origin on the last inline bar is fine
    r = client.post("/ml/volatility/predict", json={"symbol": "NEWSYM", "bars": bars, "as_of": bars[-1]["ts"]},
                    headers=headers("alice"))
    assert r.status_code == 200, r.text


def test_pushed_bars_in_the_future_are_quarantined_per_row(client, store):
    from store.bars import read_bars
    from store.users import create_user

    create_user(store, "feed", key="key-feeder-0123456789", role="feeder")
    soon = (datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=2)).isoformat()
    bar = {"symbol": "PUSH", "timeframe": "1d", "open": 10, "high": 11, "low": 9, "close": 10, "volume": 1}
    body = {"bars": [{**bar, "ts": "2024-01-02"}, {**bar, "ts": "2030-01-01"}, {**bar, "ts": soon},
                     {**bar, "ts": "2024-01-03", "high": 1e400}]}
    r = client.post("/ml/bars", content=json.dumps(body).replace("Infinity", "1e400").encode(),
                    headers={"X-API-Key": "key-feeder-0123456789", "Content-Type": "application/json"})
    assert r.status_code == 200, r.text
    reasons = {x["index"]: x["reason"] for x in r.json()["rejected"]}
    assert set(reasons) == {1, 2, 3}, reasons
    assert reasons[1].startswith("ts: in the future") and reasons[2].startswith("ts: in the future")
    assert "high: not finite" in reasons[3]
    assert len(read_bars(store, "PUSH", "1d")) == 1
    with session_scope(store) as s:
        stored = s.execute(select(QuarantinedRow.reason)).scalars().all()
    assert sum("in the future" in x for x in stored) == 2


def test_inline_bars_labelled_as_a_stored_symbol_stay_out_of_monitoring(client, store):
    from store import monitoring

    live = client.post("/ml/volatility/predict", json={"symbol": "SYN", "as_of": str(support.garch_bars().index[-60])},
                       headers=headers("alice"))
    assert live.status_code == 200, live.text
    fake = _inline(seed=11)  # someone's own bars, labelled with the stored symbol SYN
    posed = client.post("/ml/volatility/predict", json={"symbol": "SYN", "bars": fake}, headers=headers("bob"))
    assert posed.status_code == 200, posed.text
    sig_live = client.post("/ml/signal/score", json={**SIGNAL, "ts": str(support.garch_bars().index[-60])},
                           headers=headers("alice"))
    sig_posed = client.post("/ml/signal/score_batch", json={"signals": [{**SIGNAL, "bars": fake}] * 2},
                            headers=headers("bob"))
    assert sig_live.status_code == 200 and sig_posed.status_code == 200, (sig_live.text, sig_posed.text)
    # kept, flagged
    assert _rows(store, VolatilityPrediction) == [("SYN", False), ("SYN", True)]
    assert _rows(store, MLSignalScore) == [("SYN", False), ("SYN", True), ("SYN", True)]
    # ... and out of the outcome backfill, live accuracy and drift
    vol_window = monitoring.volatility_window(store, "abtpro-volatility")
    assert list(vol_window["id"]) == [live.json()["id"]]
    assert list(monitoring.unresolved_volatility(store)["id"]) == [live.json()["id"]]
    sig_window = monitoring.signal_window(store, "abtpro-signal-quality")
    assert list(sig_window["id"]) == [sig_live.json()["id"]]
    assert list(monitoring.unresolved_signals(store)["id"]) == [sig_live.json()["id"]]
    accuracy = client.get("/ml/volatility/accuracy", headers=headers("bob")).json()
    assert accuracy["n_predictions"] == 0
    # the caller still sees its own answers in its history
    history = client.get("/ml/volatility/history", headers=headers("bob")).json()
    assert history["total"] == 1 and history["items"][0]["id"] == posed.json()["id"]
    assert history["items"][0]["caller_supplied"] is True
    mine = client.get("/ml/signal/history", headers=headers("alice")).json()["items"]
    assert [x["caller_supplied"] for x in mine] == [False]
    with get_engine(store).connect() as conn:
        assert conn.execute(select(func.count()).select_from(VolatilityPrediction)).scalar_one() == 2


def test_inline_bars_pass_the_ingestion_contract_once_per_request():
    """Bars that got past the schema (built without validation here) still meet the raw-bar contract, which names
    the request item and the bar."""
    from ml.inference import BadInputError
    from serving.inference import contract_inline
    from serving.schemas import Bar

    good = [Bar(**b) for b in _inline(n=30)]
    contract_inline([("requests.0.bars", "1d", good), ("requests.1.bars", "1d", good)])  # same stamps: no clash
    broken = [*good[:-1], Bar.model_construct(ts=good[-1].ts, open=2.0, high=1.0, low=3.0, close=2.0, volume=1.0)]
    with pytest.raises(BadInputError) as info:
        contract_inline([("requests.0.bars", "1d", good), ("requests.1.bars", "1d", broken)])
    assert info.value.field == "requests.1.bars" and str(info.value).startswith("bars[29]: ")
    assert "high >= low" in str(info.value)
    future = Bar.model_construct(ts=datetime(2999, 1, 1), open=1.0, high=1.0, low=1.0, close=1.0, volume=1.0)
    with pytest.raises(BadInputError, match=r"bars\[30\]: ts: in the future"):
        contract_inline([("bars", "1d", [*good, future])])
