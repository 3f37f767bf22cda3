"""/ml/volatility/*: forecasts from stored or inline bars, persistence, history, accuracy, validation."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from store.db import get_engine
from store.models import VolatilityPrediction
from tests.serving import support
from tests.serving.conftest import headers


def _count(url: str) -> int:
    with get_engine(url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(VolatilityPrediction)).scalar_one())


def test_predict_from_stored_bars_names_the_model_and_is_stored(client, store, registry_store):
    r = client.post("/ml/volatility/predict", json={"symbol": "SYN"}, headers=headers("alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == {"name": "abtpro-volatility", "version": registry_store["versions"]["volatility_har_gk_log"]}
    assert body["as_of"].startswith(str(support.garch_bars().index[-1].date()))
    assert 0 < body["lower"] < body["predicted"] < body["upper"]
    assert body["horizon_bars"] == 5 and body["horizon_minutes"] == 5 * 1440 and body["confidence"] == 0.9
    with get_engine(store).connect() as conn:
        row = conn.execute(select(VolatilityPrediction)).one()
    assert row.id == body["id"] and row.model_version == body["model"]["version"] and row.user_id is not None
    assert row.features["rv_cc_22"] is not None and row.horizon == 7200


def test_predict_same_as_direct_model_call(client, store, registry_store):
    """Serving features come from the model's own predict_frame on the stored window: same number."""
    import registry
    from abtpro.settings import get_settings

    with support.EnvPatch({"ABTPRO_MLFLOW_TRACKING_URI": registry_store["uri"]}):
        registry.configure(get_settings())
        loaded = registry.load_alias(registry.VOLATILITY_MODEL)
    bars = support.garch_bars().iloc[:-100]
    expected = loaded.model.for_symbol("SYN").predict_frame(bars.iloc[-400:])["forecast"].iloc[-1]
    r = client.post("/ml/volatility/predict", json={"symbol": "SYN", "as_of": str(bars.index[-1])},
                    headers=headers("alice"))
    assert r.status_code == 200, r.text
    assert abs(r.json()["predicted"] - expected) < 1e-12


def test_inline_bars_serve_an_unknown_symbol(client, store):
    bars = support.garch_bars(n=400, seed=7)
    payload = [{"ts": ts.isoformat(), **{k: float(v) for k, v in row.items()}} for ts, row in bars.iterrows()]
    r = client.post("/ml/volatility/predict", json={"symbol": "NEWSYM", "bars": payload}, headers=headers("alice"))
    assert r.status_code == 200, r.text
    assert r.json()["as_of"].startswith(str(bars.index[-1].date()))


def test_unknown_symbol_is_404(client, store):
    r = client.post("/ml/volatility/predict", json={"symbol": "NOPE"}, headers=headers("alice"))
    assert r.status_code == 404 and "NOPE" in r.json()["error"]
    r = client.post("/ml/volatility/predict", json={"symbol": "SYN", "timeframe": "1h"}, headers=headers("alice"))
    assert r.status_code == 404
    assert _count(store) == 0


def test_bad_payloads_are_422_naming_the_field(client, store):
    cases = [({"symbol": "SYN", "coverage": 2}, "coverage"), ({"symbol": "S Y N"}, "symbol"),
             ({"symbol": "SYN", "timeframe": "daily"}, "timeframe"), ({}, "symbol"),
             ({"symbol": "SYN", "surprise": 1}, "surprise"),
             ({"symbol": "SYN", "bars": [{"ts": "2020-01-01", "open": 1, "high": 0.5, "low": 1, "close": 1,
                                          "volume": 1}]}, "bars.0")]
    for payload, field in cases:
        r = client.post("/ml/volatility/predict", json=payload, headers=headers("alice"))
        assert r.status_code == 422, (payload, r.text)
        assert any(f.startswith(field) for f in r.json()["fields"]), (payload, r.json())
    r = client.post("/ml/volatility/predict", content=b"{not json", headers=headers("alice"))
    assert r.status_code == 422


def test_not_enough_history_is_422(client, store):
    early = str(support.garch_bars().index[10])
    r = client.post("/ml/volatility/predict", json={"symbol": "SYN", "as_of": early}, headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["as_of"]


def test_batch_one_model_many_origins(client, store, registry_store):
    idx = support.garch_bars().index
    reqs = [{"symbol": "SYN", "as_of": str(idx[-1 - k])} for k in (0, 10, 20)] + [{"symbol": "SYN2"}]
    r = client.post("/ml/volatility/predict_batch", json={"requests": reqs}, headers=headers("alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 4 and body["model"]["version"] == registry_store["versions"]["volatility_har_gk_log"]
    assert [p["as_of"][:10] for p in body["predictions"][:3]] == [str(idx[-1 - k].date()) for k in (0, 10, 20)]
    assert len({p["id"] for p in body["predictions"]}) == 4 and _count(store) == 4
    single = client.post("/ml/volatility/predict", json=reqs[1], headers=headers("alice")).json()
    assert abs(single["predicted"] - body["predictions"][1]["predicted"]) / single["predicted"] < 1e-6


def test_batch_limits(client, store):
    r = client.post("/ml/volatility/predict_batch", json={"requests": [{"symbol": "SYN"}] * 1001},
                    headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["requests"]
    r = client.post("/ml/volatility/predict_batch", json={"requests": []}, headers=headers("alice"))
    assert r.status_code == 422
    r = client.post("/ml/volatility/predict_batch", json={"requests": [{"symbol": "SYN"}, {"symbol": "NOPE"}]},
                    headers=headers("alice"))
    assert r.status_code == 404 and _count(store) == 0  # all or nothing


def test_history_is_per_user_with_pagination_and_filters(client, store):
    idx = support.garch_bars().index
    for k in range(5):
        assert client.post("/ml/volatility/predict", json={"symbol": "SYN", "as_of": str(idx[-1 - k])},
                           headers=headers("alice")).status_code == 200
    client.post("/ml/volatility/predict", json={"symbol": "SYN2"}, headers=headers("alice"))
    client.post("/ml/volatility/predict", json={"symbol": "SYN"}, headers=headers("bob"))
    page = client.get("/ml/volatility/history", params={"limit": 2, "offset": 1}, headers=headers("alice")).json()
    assert page["total"] == 6 and len(page["items"]) == 2 and page["offset"] == 1
    only = client.get("/ml/volatility/history", params={"symbol": "SYN2"}, headers=headers("alice")).json()
    assert only["total"] == 1 and only["items"][0]["symbol"] == "SYN2"
    bob = client.get("/ml/volatility/history", headers=headers("bob")).json()
    assert bob["total"] == 1
    future = client.get("/ml/volatility/history", params={"start": "2999-01-01T00:00:00"},
                        headers=headers("alice")).json()
    assert future["total"] == 0
    r = client.get("/ml/volatility/history", params={"limit": 0}, headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["limit"]


def test_accuracy_resolves_actuals_from_stored_bars(client, store):
    idx = support.garch_bars().index
    for k in (30, 40, 50, 60):  # horizons passed: actual realised vol is known
        client.post("/ml/volatility/predict", json={"symbol": "SYN", "as_of": str(idx[-k])}, headers=headers("alice"))
    client.post("/ml/volatility/predict", json={"symbol": "SYN"}, headers=headers("alice"))  # unresolved
    acc = client.get("/ml/volatility/accuracy", headers=headers("alice")).json()
    assert acc["n_predictions"] == 5 and acc["n_resolved"] == 4
    overall = acc["overall"]
    assert overall["mae"] > 0 and overall["rmse"] >= overall["mae"] and overall["qlike"] >= 0
    assert 0 <= overall["interval_coverage"] <= 1 and overall["directional_accuracy"] is not None
    assert set(acc["by_symbol"]) == {"SYN"}
    assert client.get("/ml/volatility/accuracy", headers=headers("bob")).json()["n_predictions"] == 0


def test_explain_a_log_har_gives_its_linear_terms(client, store):
    body = client.post("/ml/volatility/predict", json={"symbol": "SYN", "explain": True},
                       headers=headers("alice")).json()
    expl = body["explanation"]
    assert expl["method"] == "har_linear_terms" and expl["units"] == "ln variance of the forecast"
    terms = {c["feature"]: c for c in expl["contributions"]}
    assert terms["intercept"]["value"] is None and {"har_1", "har_5", "har_22"} <= set(terms)
    total = sum(c["contribution"] for c in expl["contributions"])
    assert total == pytest.approx(2 * math.log(body["predicted"]), rel=1e-8)
    assert client.post("/ml/volatility/predict", json={"symbol": "SYN"},
                       headers=headers("alice")).json()["explanation"] is None


def test_batch_inline_bars_are_bounded(client, store):
    bar = {"ts": "2020-01-01T00:00:00", "open": 1, "high": 1, "low": 1, "close": 1, "volume": 1}
    import pandas as pd

    stamps = pd.date_range("2020-01-01", periods=20_000, freq="min")  # each request's bars valid on their own
    bars = [{**bar, "ts": t.isoformat()} for t in stamps]
    payload = {"requests": [{"symbol": "X", "bars": bars}] * 3}
    r = client.post("/ml/volatility/predict_batch", json=payload, headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["requests"]


def test_accuracy_agrees_with_monitoring_on_the_same_rows(client, store):
    """GET /ml/volatility/accuracy and the monitor flow's ``volatility_live_metrics`` are one computation."""
    import pytest

    from ml.monitoring import volatility_live_metrics
    from serving import persistence

    idx = support.garch_bars().index
    for k in (30, 45, 60, 75, 90):
        client.post("/ml/volatility/predict", json={"symbol": "SYN", "as_of": str(idx[-k])}, headers=headers("alice"))
    client.post("/ml/volatility/predict", json={"symbol": "SYN2", "as_of": str(idx[-50])}, headers=headers("alice"))
    client.post("/ml/volatility/predict", json={"symbol": "SYN"}, headers=headers("alice"))  # unresolved
    acc = client.get("/ml/volatility/accuracy", headers=headers("alice")).json()
    rows = persistence.resolve_actuals(store, persistence.volatility_rows(store, None))
    names = {"n": "n", "mae": "mae", "rmse": "rmse", "qlike": "qlike", "dir_acc": "directional_accuracy",
             "coverage": "interval_coverage"}
    for block, frame in ((acc["overall"], rows), (acc["by_symbol"]["SYN"], rows[rows["symbol"] == "SYN"]),
                         (acc["by_symbol"]["SYN2"], rows[rows["symbol"] == "SYN2"])):
        live = volatility_live_metrics(frame)
        assert block["n"] == live["n"] > 0
        assert {api: block[api] for api in names.values()} == pytest.approx({names[k]: live[k] for k in names})
    assert acc["n_resolved"] == 6


def test_accuracy_counts_directions_and_intervals_only_where_known():
    """A forecast without a trailing level or an interval still counts for the losses, not for those two."""
    import numpy as np
    import pandas as pd
    import pytest

    from ml.monitoring import volatility_live_metrics
    from serving.routes.volatility import accuracy_block as _accuracy_block

    frame = pd.DataFrame({"actual": [0.010, 0.020, 0.015, np.nan], "predicted": [0.012, 0.018, 0.016, 0.01],
                          "trailing": [0.011, np.nan, 0.014, 0.01], "lower": [0.008, np.nan, 0.014, 0.005],
                          "upper": [0.016, np.nan, 0.0145, 0.02], "confidence": [0.9, 0.9, 0.8, 0.9]})
    live, block = volatility_live_metrics(frame), _accuracy_block(frame)
    assert live["n"] == block.n == 3
    assert live["dir_acc"] == block.directional_accuracy == 0.5  # rows 0 and 2; row 1 has no trailing level
    assert live["coverage"] == block.interval_coverage == 0.5  # rows 0 and 2; row 1 has no interval
    assert block.mean_confidence == pytest.approx(26 / 30) and block.qlike == pytest.approx(live["qlike"])
