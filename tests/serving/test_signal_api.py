"""/ml/signal/*: meta-labelling scores with the ml.signal_quality feature builder, storage, history, stats."""

from __future__ import annotations

from sqlalchemy import func, select

from store.db import get_engine
from store.models import MLSignalScore
from tests.serving import support
from tests.serving.conftest import headers

SIGNAL = {"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY"}


def _count(url: str) -> int:
    with get_engine(url).connect() as conn:
        return int(conn.execute(select(func.count()).select_from(MLSignalScore)).scalar_one())


def test_score_matches_the_training_feature_builder(client, store, registry_store):
    import pandas as pd

    import registry
    from abtpro.settings import get_settings
    from ml.signal_quality import build_signal_features

    bars = support.garch_bars()
    ts = bars.index[-50]
    r = client.post("/ml/signal/score", json={**SIGNAL, "ts": str(ts), "strength": 0.5}, headers=headers("alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == {"name": "abtpro-signal-quality", "version": registry_store["versions"]["signal"]}
    assert 0 <= body["score"] <= 1 and 0.5 <= body["confidence"] <= 1 and body["prediction"] in ("BUY", "HOLD")
    with support.EnvPatch({"ABTPRO_MLFLOW_TRACKING_URI": registry_store["uri"]}):
        registry.configure(get_settings())
        wrapped = registry.load_alias(registry.SIGNAL_QUALITY_MODEL).model
    window = bars.loc[:ts].iloc[-600:]
    X = build_signal_features(window, pd.DataFrame({"side": [1], "strength": [0.5]}, index=[ts]),
                              wrapped.history, "sma_crossover", wrapped.feature_config)
    assert abs(wrapped.scorer.score_signals(X)["score"].iloc[0] - body["score"]) < 1e-9
    with get_engine(store).connect() as conn:
        row = conn.execute(select(MLSignalScore)).one()
    assert row.id == body["id"] and row.model_version == body["model"]["version"] and row.side == "BUY"
    assert row.features["side"] == 1.0 and row.features["hist_win_rate"] is not None


def test_side_accepts_numbers_and_lowercase(client, store):
    for side, expected in ((-1, "SELL"), ("buy", "BUY"), ("1", "BUY")):
        r = client.post("/ml/signal/score", json={**SIGNAL, "side": side}, headers=headers("alice"))
        assert r.status_code == 200 and r.json()["side"] == expected


def test_explain_returns_shap_contributions(client, store):
    body = client.post("/ml/signal/score", json={**SIGNAL, "explain": True}, headers=headers("alice")).json()
    expl = body["explanation"]
    assert expl["method"] == "xgboost_pred_contribs" and 0 < len(expl["contributions"]) <= 8
    mags = [abs(c["contribution"]) for c in expl["contributions"]]
    assert mags == sorted(mags, reverse=True) and mags[0] > 0


def test_errors(client, store):
    r = client.post("/ml/signal/score", json={**SIGNAL, "symbol": "NOPE"}, headers=headers("alice"))
    assert r.status_code == 404
    for payload, field in (({**SIGNAL, "side": "HOLD"}, "side"), ({**SIGNAL, "strategy": ""}, "strategy"),
                           ({**SIGNAL, "strength": -1}, "strength"), ({"symbol": "SYN", "side": "BUY"}, "strategy")):
        r = client.post("/ml/signal/score", json=payload, headers=headers("alice"))
        assert r.status_code == 422 and field in r.json()["fields"], r.text
    r = client.post("/ml/signal/score", json={**SIGNAL, "ts": "2018-01-05"}, headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["ts"]
    r = client.post("/ml/signal/score", json={**SIGNAL, "ts": "1990-01-01"}, headers=headers("alice"))
    assert r.status_code == 404
    assert _count(store) == 0


def test_batch_scores_and_stores_each(client, store):
    idx = support.garch_bars().index
    signals = [{**SIGNAL, "ts": str(idx[-k]), "side": "BUY" if k % 2 else "SELL"} for k in range(1, 41)]
    signals.append({**SIGNAL, "symbol": "SYN2", "strategy": "rsi_mean_reversion"})
    r = client.post("/ml/signal/score_batch", json={"signals": signals}, headers=headers("alice"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 41 and len({s["id"] for s in body["scores"]}) == 41 and _count(store) == 41
    one = client.post("/ml/signal/score", json=signals[4], headers=headers("alice")).json()
    assert abs(one["score"] - body["scores"][4]["score"]) < 1e-9
    r = client.post("/ml/signal/score_batch", json={"signals": [SIGNAL] * 1001}, headers=headers("alice"))
    assert r.status_code == 422 and r.json()["fields"] == ["signals"]


def test_history_and_stats_are_per_user(client, store):
    idx = support.garch_bars().index
    for k in range(1, 6):
        client.post("/ml/signal/score", json={**SIGNAL, "ts": str(idx[-k])}, headers=headers("alice"))
    client.post("/ml/signal/score", json={**SIGNAL, "strategy": "donchian_breakout"}, headers=headers("alice"))
    client.post("/ml/signal/score", json=SIGNAL, headers=headers("bob"))
    alice = client.get("/ml/signal/history", params={"limit": 3}, headers=headers("alice")).json()
    assert alice["total"] == 6 and len(alice["items"]) == 3
    assert all(item["model"]["name"] == "abtpro-signal-quality" for item in alice["items"])
    assert alice["items"][0]["features"]["side"] == 1.0
    filtered = client.get("/ml/signal/history", params={"strategy": "donchian_breakout", "include_features": "false"},
                          headers=headers("alice")).json()
    assert filtered["total"] == 1 and filtered["items"][0]["features"] is None
    bob = client.get("/ml/signal/history", headers=headers("bob")).json()
    assert bob["total"] == 1 and bob["items"][0]["id"] not in {i["id"] for i in alice["items"]}
    stats = client.get("/ml/signal/stats", headers=headers("alice")).json()
    assert stats["count"] == 6 and set(stats["by_strategy"]) == {"sma_crossover", "donchian_breakout"}
    assert sum(stats["score_histogram"].values()) == 6 and sum(stats["predictions"].values()) == 6
    assert 0 <= stats["by_strategy"]["sma_crossover"]["take_rate"] <= 1
    assert client.get("/ml/signal/stats", headers=headers("bob")).json()["count"] == 1


def test_any_strategy_is_scored_with_its_trade_plan_and_bad_plans_are_422(client, store):
    close = float(support.garch_bars()["close"].iloc[-1])
    mine = {**SIGNAL, "strategy": "my_breakout"}
    r = client.post("/ml/signal/score", json=mine, headers=headers("alice"))
    assert r.status_code == 200, r.text
    assert r.json()["feature_set"] == "generic" and r.json()["risk_reward"] == 1.0
    builtin = client.post("/ml/signal/score", json=SIGNAL, headers=headers("alice")).json()
    assert builtin["feature_set"] == "strategy"
    planned = client.post("/ml/signal/score", json={**mine, "plan": {"stop_loss": close * 0.97,
                                                                      "take_profit": close * 1.06}},
                          headers=headers("alice")).json()
    assert abs(planned["risk_reward"] - 2.0) < 1e-6
    horizon = client.post("/ml/signal/score", json={**mine, "plan": {"stop_multiple": 1.0, "horizon_bars": 4}},
                          headers=headers("alice")).json()
    from store.monitoring import unresolved_signals

    pending = unresolved_signals(store).set_index("id")  # what the outcome backfill resolves them with
    assert pending.loc[horizon["id"], ["pt_mult", "sl_mult", "max_holding"]].tolist() == [1.5, 1.0, 4.0]
    assert abs(pending.loc[planned["id"], "pt_mult"] / pending.loc[planned["id"], "sl_mult"] - 2.0) < 1e-6
    assert pending.loc[builtin["id"], ["pt_mult", "sl_mult", "max_holding"]].isna().all()
    for plan, field in (({"stop_loss": close * 1.1}, "plan.stop_loss"), ({"take_profit": close * 0.5}, "plan.take_profit"),
                        ({"stop_loss": close * 0.9, "stop_multiple": 2}, "plan"),
                        ({"take_multiple": "Infinity"}, "plan.take_multiple")):
        r = client.post("/ml/signal/score", json={**mine, "plan": plan}, headers=headers("alice"))
        assert r.status_code == 422 and field in r.json()["error"], (plan, r.text)
    for name in ("", "a b", "x" * 65, "drop;table"):
        r = client.post("/ml/signal/score", json={**SIGNAL, "strategy": name}, headers=headers("alice"))
        assert r.status_code == 422 and r.json()["fields"] == ["strategy"], name


def test_strategy_supplied_confidence_and_features_are_stored_and_bounded(client, store):
    """A scorer not trained on them scores as without, says it used none and stores them for retraining."""
    mine = {**SIGNAL, "strategy": "my_breakout"}
    plain = client.post("/ml/signal/score", json=mine, headers=headers("alice")).json()
    r = client.post("/ml/signal/score", json={**mine, "confidence": 0.8, "features": {"zscore": -2.5, "rank": 3}},
                    headers=headers("alice"))
    assert r.status_code == 200, r.text
    assert r.json()["score"] == plain["score"] and r.json()["caller_features_used"] == []
    with get_engine(store).connect() as conn:
        stored = conn.execute(select(MLSignalScore.features).where(MLSignalScore.id == r.json()["id"])).scalar_one()
    assert stored["caller_confidence"] == 0.8 and stored["caller_zscore"] == -2.5 and stored["caller_rank"] == 3
    for extra, field in (({"confidence": 1.5}, "confidence"), ({"confidence": "Infinity"}, "confidence"),
                         ({"features": {"Bad Name": 1.0}}, "features"), ({"features": {"z": "Infinity"}}, "features"),
                         ({"features": {f"f{i}": 1.0 for i in range(9)}}, "features"),
                         ({"features": {"z": "high"}}, "features")):
        r = client.post("/ml/signal/score", json={**mine, **extra}, headers=headers("alice"))
        assert r.status_code == 422 and r.json()["fields"][0].startswith(field), (extra, r.text)


def test_the_service_scores_with_the_registered_scorer_bundle_per_symbol():
    """The flows register ``ml.signal_quality.bundle.ScorerBundle``: serving's ``ml.inference.score`` uses its
    scorer, its feature config and the symbol's own history (none for a symbol it was not trained on)."""
    import pandas as pd
    import pytest

    from ml import inference

    bars = support.garch_bars()
    bundle = support.fit_signal(bars)
    assert set(bundle.history["symbol"]) == {"SYN"}
    one = pd.DataFrame({"symbol": ["SYN"], "strategy": ["sma_crossover"], "side": [1], "ts": [bars.index[-20]]})
    signal = pd.DataFrame({"side": [1], "strength": [1.0]}, index=pd.DatetimeIndex([bars.index[-20]], name="ts"))
    for symbol, hist in (("SYN", bundle.history), ("OTHER", bundle.history.iloc[:0])):
        (out,) = inference.score(bundle, {symbol: bars}, one.assign(symbol=symbol))
        X = bundle.features(bars.loc[: bars.index[-20]], signal, "sma_crossover", history=hist)
        assert out.score == bundle.scorer.score_signals(X)["score"].iloc[0] and out.threshold == bundle.threshold
        assert out.features == inference.feature_dicts(X, [0])[0]
        assert (out.features["hist_n"] > 0) == (symbol == "SYN")
    with pytest.raises(TypeError, match="ScorerBundle"):
        inference.score(bundle.scorer, {"SYN": bars}, one)
