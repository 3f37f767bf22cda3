"""Backfill, monitoring and retraining flows on the embedded Prefect harness and a local MLflow store.

The world: a synthetic GARCH(1,1)-t series ``SYN`` (1,500 daily bars) trains the champion; then 250
new bars arrive either from the same process (stable) or with the variance quadrupled (volatility
doubles), the champion's forecasts for them are stored as the service stores them, and the backfill
resolves them.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

import registry

SYMBOL = "SYN"
FAST = {"symbols": [SYMBOL], "candidates": ["garch_t", "har_gk_log"], "refit_every": 126}


def garch_bars(n: int, seed: int, start: str = "2015-01-01", variance_scale: float = 1.0, last_close: float = 100.0,
               symbol: str = SYMBOL, alpha: float = 0.08, beta: float = 0.85, vol: float = 0.01) -> pd.DataFrame:
    """Raw daily bars whose log returns follow a GARCH(1,1) with Student-t(6) shocks.

    The unconditional per-bar volatility is ``vol * sqrt(variance_scale)``; highs/lows straddle the
    open/close by a range that scales with the conditional volatility.
    """
    rng = np.random.default_rng(seed)
    omega = vol**2 * (1 - alpha - beta) * variance_scale
    s2, nu = omega / (1 - alpha - beta), 6.0
    z = rng.standard_t(nu, n) / np.sqrt(nu / (nu - 2))
    r, sig = np.empty(n), np.empty(n)
    for t in range(n):
        sig[t] = np.sqrt(s2)
        r[t] = sig[t] * z[t]
        s2 = omega + alpha * r[t] ** 2 + beta * s2
    close = last_close * np.exp(np.cumsum(r))
    prev = np.concatenate([[last_close], close[:-1]])
    open_ = prev * np.exp(0.1 * rng.normal(0, 1, n) * np.abs(r))
    span = np.abs(r) + sig * np.abs(rng.normal(0, 0.5, n))
    high = np.maximum(open_, close) * np.exp(span * rng.uniform(0.1, 0.6, n))
    low = np.minimum(open_, close) * np.exp(-span * rng.uniform(0.1, 0.6, n))
    return pd.DataFrame({"symbol": symbol, "timeframe": "1d", "ts": pd.bdate_range(start, periods=n), "open": open_,
                         "high": high, "low": low, "close": close,
                         "volume": rng.integers(1_000, 100_000, n).astype(float), "source": "synthetic"})


def next_bars(previous: pd.DataFrame, n: int, seed: int, variance_scale: float) -> pd.DataFrame:
    """``n`` bars continuing ``previous`` (next business day, last close)."""
    start = str((previous["ts"].iloc[-1] + pd.offsets.BDay(1)).date())
    return garch_bars(n, seed, start, variance_scale, float(previous["close"].iloc[-1]),
                      symbol=str(previous["symbol"].iloc[0]))


def store_forecasts(url: str, bars: pd.DataFrame, origins: pd.DatetimeIndex, horizon: int = 5) -> int:
    """Store the champion's forecasts at ``origins`` as the service does (features, interval, minutes)."""
    from ml.features import compute_features
    from store.db import get_engine
    from store.models import VolatilityPrediction

    champion = registry.load_alias(registry.VOLATILITY_MODEL)
    symbol = str(bars.attrs.get("symbol", SYMBOL))
    frame = champion.model.for_symbol(symbol).predict_frame(bars).loc[origins]
    feats = compute_features(bars).loc[origins]
    rows = [{"symbol": symbol, "timeframe": "1d", "predicted": float(f.forecast), "lower": float(f.lower),
             "upper": float(f.upper), "confidence": 0.9, "horizon": horizon * 1440, "as_of": ts.to_pydatetime(),
             "features": {k: None if pd.isna(v) else float(v) for k, v in feats.loc[ts].items()},
             "model_name": registry.VOLATILITY_MODEL, "model_version": champion.version}
            for ts, f in frame.iterrows()]
    with get_engine(url).begin() as conn:
        conn.execute(VolatilityPrediction.__table__.insert(), rows)
    return len(rows)


def build_world(url: str, tracking_uri: str, variance_scale: float, seed: int = 1,
                forecasts: bool = True) -> pd.DataFrame:
    """Empty store and registry -> 1,500 bars -> champion v1 -> 250 new bars (scaled variance) with stored
    forecasts of the champion (unless ``forecasts`` is False). Returns the new bars."""
    import mlflow
    from mlflow.exceptions import MlflowException

    from flows.volatility import volatility_pipeline
    from store.bars import read_bars, upsert_bars
    from store.db import get_engine
    from store.models import Base

    with get_engine(url).begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    os.environ["ABTPRO_MLFLOW_TRACKING_URI"] = tracking_uri
    try:
        mlflow.MlflowClient(tracking_uri, registry_uri=tracking_uri).delete_registered_model(registry.VOLATILITY_MODEL)
    except MlflowException:
        pass
    old = garch_bars(1500, seed=seed)
    upsert_bars(url, old)
    first = volatility_pipeline(**FAST)
    assert first.promoted and first.version == "1"
    new = next_bars(old, 250, seed + 100, variance_scale)
    upsert_bars(url, new)
    if forecasts:
        store_forecasts(url, read_bars(url, SYMBOL, "1d"), pd.DatetimeIndex(new["ts"]))
    return new


@pytest.fixture(scope="module")
def mlflow_env():
    yield
    os.environ.pop("ABTPRO_MLFLOW_TRACKING_URI", None)


# --- backfill ---------------------------------------------------------------------------------------

def test_backfill_fills_actuals_and_signal_outcomes(prefect_harness, clean_db):
    from flows.backfill import backfill_outcomes
    from ml.signal_quality.labels import triple_barrier_labels
    from ml.volatility.targets import realised_vol_target
    from store.bars import read_bars, upsert_bars
    from store.db import get_engine
    from store.models import MLSignalOutcome, MLSignalScore, User, VolatilityPrediction

    upsert_bars(clean_db, garch_bars(300, seed=5, symbol="BFX"))
    bars = read_bars(clean_db, "BFX", "1d")
    origins = bars.index[[100, 150, 295, 297]]  # the last two: only 4 and 2 of their 5 bars exist yet
    with get_engine(clean_db).begin() as conn:
        conn.execute(VolatilityPrediction.__table__.insert(), [
            {"symbol": "BFX", "timeframe": "1d", "predicted": 0.01, "confidence": 0.9, "features": {},
             "horizon": 5 * 1440, "as_of": ts.to_pydatetime(), "model_name": "m", "model_version": "1"}
            for ts in origins])
        user = conn.execute(User.__table__.insert().returning(User.id), {"name": "u", "api_key_hash": "h" * 64,
                                                                        "is_admin": False, "created_at": origins[0]})
        uid = user.scalar_one()
        sig_ts = bars.index[[60, 120, 299]]  # the last: no bar after it yet
        conn.execute(MLSignalScore.__table__.insert(), [
            {"user_id": uid, "symbol": "BFX", "timeframe": "1d", "strategy": "sma", "side": side,
             "signal_ts": ts.to_pydatetime(), "score": 0.6, "confidence": 0.5, "features": {}, "prediction": side,
             "model_name": registry.SIGNAL_QUALITY_MODEL, "model_version": "1", "created_at": ts.to_pydatetime()}
            for ts, side in zip(sig_ts, ["BUY", "SELL", "BUY"])])

    result = backfill_outcomes()
    assert (result.volatility_resolved, result.volatility_pending) == (2, 2)
    assert (result.signals_resolved, result.signals_pending) == (2, 1)
    target = realised_vol_target(bars, 5)
    with get_engine(clean_db).connect() as conn:
        actual = dict(conn.execute(select(VolatilityPrediction.as_of, VolatilityPrediction.actual)).all())
        outcomes = conn.execute(select(MLSignalOutcome.outcome, MLSignalOutcome.realised_return,
                                       MLSignalOutcome.barrier).order_by(MLSignalOutcome.score_id)).all()
    assert actual[origins[0].to_pydatetime()] == pytest.approx(target[origins[0]])
    assert actual[origins[1].to_pydatetime()] == pytest.approx(target[origins[1]])
    assert actual[origins[2].to_pydatetime()] is None and actual[origins[3].to_pydatetime()] is None
    expected = triple_barrier_labels(bars, pd.DataFrame({"side": [1, -1]}, index=sig_ts[:2]))
    assert [o[0] for o in outcomes] == expected["label"].tolist()
    assert [o[1] for o in outcomes] == pytest.approx(expected["ret"].tolist())
    assert backfill_outcomes().volatility_resolved == 0  # idempotent: nothing left that can resolve
    assert result.symbols == ["BFX"] and result.timeframes == ["1d"]
    assert pd.Timestamp(result.newest_data_ts) == max(origins[1], sig_ts[1])


def test_backfill_resolves_only_the_given_series_and_emits_the_resolved_event(prefect_harness, clean_db,
                                                                             monkeypatch):
    import prefect.events
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows import backfill
    from store import monitoring as store
    from store.bars import read_bars, upsert_bars
    from store.db import get_engine
    from store.models import VolatilityPrediction

    for symbol in ("AAA", "BBB"):
        upsert_bars(clean_db, garch_bars(120, seed=7, symbol=symbol))
    origins = read_bars(clean_db, "AAA", "1d").index[[50, 60]]
    with get_engine(clean_db).begin() as conn:
        conn.execute(VolatilityPrediction.__table__.insert(), [
            {"symbol": symbol, "timeframe": "1d", "predicted": 0.01, "confidence": 0.9, "features": {},
             "horizon": 5 * 1440, "as_of": ts.to_pydatetime(), "model_name": "m", "model_version": "1"}
            for symbol in ("AAA", "BBB") for ts in origins])
    emitted = []
    monkeypatch.setattr(prefect.events, "emit_event", lambda **kw: emitted.append(kw))
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):  # emitted only with an API
        result = backfill.emit_resolved(backfill.BackfillResult(2, 0, 0, 0, ["AAA"], ["1d"], "2015-03-27T00:00:00"))
    assert result is None and emitted[0]["event"] == backfill.OUTCOMES_RESOLVED
    assert emitted[0]["resource"]["prefect.resource.id"] == "abtpro.outcomes"
    assert emitted[0]["payload"] == {"volatility": 2, "signals": 0, "symbols": ["AAA"], "timeframes": ["1d"],
                                     "newest_data_ts": "2015-03-27T00:00:00"}
    assert backfill.emit_resolved(backfill.BackfillResult(0, 3, 0, 1)) is None and len(emitted) == 1  # none resolved
    calls = []
    monkeypatch.setattr(backfill, "emit_resolved", lambda r: calls.append(r) or "event-1")
    result = backfill.backfill_outcomes(symbols=["AAA"], timeframes=["1d"])
    assert (result.volatility_resolved, result.symbols, result.event_id) == (2, ["AAA"], "event-1")
    assert calls == [result.__class__(**{**result.__dict__, "event_id": None})]
    assert sorted(store.unresolved_volatility(clean_db)["symbol"]) == ["BBB", "BBB"]  # the other series untouched
    assert backfill.backfill_outcomes().symbols == ["BBB"]  # no series given: all


# --- monitoring + retraining ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def stable_world(prefect_harness, db_url, tmp_path_factory, mlflow_env):
    from flows.backfill import backfill_outcomes

    build_world(db_url, f"sqlite:///{tmp_path_factory.mktemp('mlflow-stable') / 'mlflow.db'}", variance_scale=1.0)
    assert backfill_outcomes().volatility_resolved == 245
    return db_url


def test_stable_data_does_not_trigger(stable_world):
    import mlflow

    from flows.monitor import monitor_models
    from store import monitoring as store

    (outcome,) = monitor_models(models=[registry.VOLATILITY_MODEL], dispatch="direct")
    assert outcome.decision == "ok" and outcome.trigger_id is None and outcome.retrain is None
    assert outcome.metrics["n"] == 245 and outcome.drift_share < 0.5
    (row,) = store.monitoring_history(stable_world, registry.VOLATILITY_MODEL)
    assert row["decision"] == "ok" and row["model_version"] == "1" and "qlike_mean" in row["validation"]
    assert set(row["drift"]["features"]) >= {"log_ret", "rv_cc_5"}
    assert store.trigger_history(stable_world) == []
    run = mlflow.get_run(row["mlflow_run_id"])
    assert run.data.tags["monitored_version"] == "1" and "live_qlike" in run.data.metrics
    perf = store.model_performance(stable_world)
    assert perf["models"][registry.VOLATILITY_MODEL]["latest"]["id"] == row["id"]


def test_no_new_resolved_outcomes_means_no_new_pass(stable_world):
    from flows.monitor import monitor_models
    from store import monitoring as store

    before = store.monitoring_history(stable_world, registry.VOLATILITY_MODEL)
    (outcome,) = monitor_models(models=[registry.VOLATILITY_MODEL], dispatch="direct", every_bars=5)
    assert outcome.decision == "no_new_data" and outcome.monitoring_id is None
    assert outcome.reasons[0].startswith("no new data: resolved outcomes advanced 0 of 5 bars")
    assert store.monitoring_history(stable_world, registry.VOLATILITY_MODEL) == before  # nothing recorded


def test_worse_retrained_model_is_registered_but_not_promoted(stable_world):
    from sqlalchemy import select as sel

    from flows.retrain import retrain_model
    from store import monitoring as store
    from store.db import get_engine
    from store.models import AuditLog

    trigger_id = store.record_trigger(stable_world, model_name=registry.VOLATILITY_MODEL, model_version="1",
                                      reasons=["manual test"], status="fired", mode="direct")
    outcome = retrain_model(candidates=["garch_t"], estimator="ewma")  # picks up the open trigger
    assert outcome.version == "2" and not outcome.promoted and outcome.previous_champion == "1"
    assert "not better than champion" in outcome.reason
    assert outcome.comparison["candidate_qlike"] > outcome.comparison["champion_qlike"]
    assert str(registry.alias_version(registry.VOLATILITY_MODEL, registry.CHAMPION).version) == "1"
    challenger = registry.alias_version(registry.VOLATILITY_MODEL, registry.CHALLENGER)
    assert str(challenger.version) == "2" and challenger.tags["retrain_decision"] == outcome.reason
    assert "Retrain vs deployed champion" in challenger.description
    (trigger,) = store.trigger_history(stable_world)
    assert trigger["id"] == trigger_id and trigger["status"] == "completed"
    assert trigger["result"]["version"] == "2" and trigger["result"]["promoted"] is False
    with get_engine(stable_world).connect() as conn:
        actions = conn.execute(sel(AuditLog.action, AuditLog.target)).all()
    assert ("train", "abtpro-volatility/2") in actions and ("promote", "abtpro-volatility/2") not in actions


def test_a_late_monitoring_run_catches_up_a_pass_per_five_bars_each_as_of_its_bar(stable_world):
    """The backfill ran up to bar 149 of the 250 new ones and monitoring made its pass; then 100 more bars
    resolved before monitoring ran again (the loop coalesced, or the replay waited monthly). That one run
    records the 20 passes a run after every bar would have: window ends 5 bars apart, each judging only the
    forecasts made and the outcomes known at the bar it fell due."""
    from flows.backfill import backfill_outcomes
    from flows.monitor import monitor_models
    from store import monitoring as store
    from store.db import get_engine
    from store.models import ModelMonitoring, VolatilityPrediction

    name = registry.VOLATILITY_MODEL
    origins = pd.DatetimeIndex(store.volatility_window(stable_world, name, "1", last=1000)["as_of"])
    assert len(origins) == 250
    with get_engine(stable_world).begin() as conn:  # the store as of bar 149: outcomes up to origin 144 known
        conn.execute(ModelMonitoring.__table__.delete().where(ModelMonitoring.model_name == name))
        conn.execute(VolatilityPrediction.__table__.update().where(VolatilityPrediction.as_of > origins[144])
                     .values(actual=None))
    triggers = len(store.trigger_history(stable_world, name))
    (first,) = monitor_models(models=[name], dispatch="none", every_bars=5)
    assert first.monitoring_id is not None and first.metrics["n"] == 145
    assert backfill_outcomes().volatility_resolved == 100

    # a tolerance of +10%: the weekly windows in the middle exceed it (the stable world's champion, GARCH-t since
    # its intervals are adaptive conformal, peaks near +14%), which the single pass over the newest window (within
    # it) would never have seen; dispatch="none" records the decision and fires nothing
    caught = monitor_models(models=[name], dispatch="none", every_bars=5, max_qlike_increase=0.1)
    assert len(caught) == 20 and all(o.monitoring_id is not None for o in caught)
    assert "retrain" in [o.decision for o in caught] and caught[-1].decision == "ok"
    assert len(store.trigger_history(stable_world, name)) == triggers
    rows = sorted((r for r in store.monitoring_history(stable_world, name, limit=100) if r["id"] != first.monitoring_id),
                  key=lambda r: r["id"])
    assert [pd.Timestamp(r["window_end"]) for r in rows] == [origins[144 + 5 * j] for j in range(1, 21)]
    assert [r["n_resolved"] for r in rows] == [145 + 5 * j for j in range(1, 21)]  # known as of each pass's bar
    assert [r["n_predictions"] for r in rows] == [min(150 + 5 * j, 250) for j in range(1, 21)]  # made by then
    assert all(r["metrics"]["n"] == r["n_resolved"] for r in rows)
    assert "catch-up pass 1 of 20" in " ".join(rows[0]["reasons"])
    qlikes = [r["metrics"]["qlike"] for r in rows]
    assert len(set(qlikes)) == 20  # each judged its own window, not the newest one twenty times
    # the last pass (as of the newest bar) is the pass a single run now makes
    (again,) = monitor_models(models=[name], dispatch="none", every_bars=5, max_qlike_increase=0.1)
    assert again.decision == "no_new_data"
    (now,) = monitor_models(models=[name], dispatch="none", every_bars=0, max_qlike_increase=0.1)
    assert now.metrics == caught[-1].metrics and now.drift_share == caught[-1].drift_share


@pytest.fixture(scope="module")
def regime_world(prefect_harness, db_url, tmp_path_factory, mlflow_env):
    from flows.backfill import backfill_outcomes

    build_world(db_url, f"sqlite:///{tmp_path_factory.mktemp('mlflow-regime') / 'mlflow.db'}", variance_scale=4.0)
    backfill_outcomes()
    return db_url


def test_doubled_volatility_triggers_retrain_and_promotes(regime_world):
    from flows.monitor import monitor_models
    from store import monitoring as store

    (outcome,) = monitor_models(models=[registry.VOLATILITY_MODEL], dispatch="auto")  # no retrain deployment
    assert outcome.decision == "retrain" and outcome.trigger_mode == "direct" and outcome.trigger_status == "fired"
    assert any(r.startswith("feature drift") for r in outcome.reasons)
    assert any(r.startswith("accuracy decay: live qlike") for r in outcome.reasons)
    assert outcome.retrain["version"] == "2" and outcome.retrain["promoted"] is True
    assert str(registry.alias_version(registry.VOLATILITY_MODEL, registry.CHAMPION).version) == "2"
    (trigger,) = store.trigger_history(regime_world)
    assert trigger["status"] == "completed" and trigger["reasons"] == outcome.reasons
    assert trigger["monitoring_id"] == outcome.monitoring_id
    (row,) = store.monitoring_history(regime_world, registry.VOLATILITY_MODEL)
    newest = pd.Timestamp(store.volatility_window(regime_world, registry.VOLATILITY_MODEL)["as_of"].max())
    assert pd.Timestamp(trigger["data_ts"]) == newest  # data time of the judged window, not the wall clock
    assert row["window_end"] is not None and pd.Timestamp(row["window_end"]) <= newest


def test_cooldown_suppresses_a_second_trigger(regime_world):
    from flows.monitor import monitor_models
    from store import monitoring as store
    from store.db import get_engine
    from store.models import VolatilityPrediction

    # the old champion's forecasts are still the newest: pretend they belong to the new champion
    with get_engine(regime_world).begin() as conn:
        conn.execute(VolatilityPrediction.__table__.update().values(model_version="2"))
    (outcome,) = monitor_models(models=[registry.VOLATILITY_MODEL], dispatch="direct", cooldown_bars=20)
    assert outcome.trigger_status == "suppressed" and outcome.retrain is None
    latest = store.trigger_history(regime_world)[0]
    assert latest["status"] == "suppressed" and any("in cooldown: 0 of 20 bars" in r for r in latest["reasons"])
    assert str(registry.alias_version(registry.VOLATILITY_MODEL, registry.CHAMPION).version) == "2"
    # the same window in data time: no bar lies between the fired trigger and this one, whatever the wall clock
    assert latest["data_ts"] == store.last_fired_data_ts(regime_world, registry.VOLATILITY_MODEL)


def test_signal_scorer_below_its_auc_floor_asks_for_retrain(stable_world):
    import mlflow
    import mlflow.sklearn
    from sklearn.dummy import DummyClassifier

    from abtpro.settings import get_settings
    from flows.monitor import monitor_models
    from store import monitoring as store
    from store.db import get_engine
    from store.models import MLSignalOutcome, MLSignalScore, User

    name = registry.SIGNAL_QUALITY_MODEL
    registry.ensure_experiment(get_settings(), "signal-quality-monitor-test")
    with mlflow.start_run():
        mlflow.log_metrics({"auc": 0.70, "brier": 0.20})
        info = mlflow.sklearn.log_model(DummyClassifier().fit([[0], [1]], [0, 1]), name="model")
    version = str(registry.register(info.model_uri, name, tags={}, description="test scorer").version)
    registry.set_alias(name, registry.CHAMPION, version)

    rng = np.random.default_rng(11)
    n = 120
    scores, outcomes = rng.uniform(0.3, 0.9, n), (rng.uniform(size=n) < 0.5).astype(float)  # scores carry no signal
    ts = pd.bdate_range("2021-01-04", periods=n)
    with get_engine(stable_world).begin() as conn:
        uid = conn.execute(User.__table__.insert().returning(User.id),
                           {"name": "scorer-test", "api_key_hash": "s" * 64, "is_admin": False,
                            "created_at": ts[0].to_pydatetime()}).scalar_one()
        ids = conn.execute(MLSignalScore.__table__.insert().returning(MLSignalScore.id), [
            {"user_id": uid, "symbol": SYMBOL, "timeframe": "1d", "strategy": "sma", "side": "BUY",
             "signal_ts": t.to_pydatetime(), "score": float(p), "confidence": 0.5, "features": {},
             "prediction": "BUY" if p >= 0.5 else "HOLD", "model_name": name, "model_version": version,
             "created_at": t.to_pydatetime()} for t, p in zip(ts, scores)]).scalars().all()
        conn.execute(MLSignalOutcome.__table__.insert(), [
            {"score_id": i, "outcome": float(y), "realised_return": 0.01 if y else -0.01,
             "resolved_at": ts[-1].to_pydatetime()} for i, y in zip(ids, outcomes)])

    (outcome,) = monitor_models(models=[name], dispatch="record")
    assert outcome.decision == "retrain" and outcome.trigger_status == "fired" and outcome.trigger_mode == "record"
    assert any(r.startswith("accuracy decay: live AUC") for r in outcome.reasons)
    assert outcome.metrics["n"] == n and {"win_rate_taken", "win_rate_rejected", "brier"} <= set(outcome.metrics)
    row = store.monitoring_history(stable_world, name)[0]
    assert row["task"] == "signal_quality" and row["validation"]["auc"] == 0.70
    assert store.trigger_history(stable_world, name)[0]["status"] == "fired"
