"""ml.inference: batch signal scores and volatility forecasts with the training features, explanations on
demand, mixed symbols/strategies in one call, and bad input named by field."""

import numpy as np
import pandas as pd
import pytest

from ml import inference
from ml.bundles import SymbolModels
from ml.datasets import load_sample
from ml.features import compute_features
from ml.inference import BadInputError, history_bars, predict, score
from ml.signal_quality import SignalFeatureConfig
from ml.signal_quality.bundle import ScorerBundle, make_scorer, pooled_signals, prepare_signal_set
from ml.signal_quality.validation import pool_signal_sets
from ml.volatility import make_model

GRIDS = {"sma_crossover": [{"fast": 5, "slow": 20}, {"fast": 10, "slow": 30}],
         "rsi_mean_reversion": [{"period": 3, "lower": 15.0, "upper": 85.0}, {"period": 7, "lower": 30.0, "upper": 70.0}]}
CONFIG = SignalFeatureConfig()
SYMBOLS = ("GOOG", "NDX")


@pytest.fixture(scope="module")
def bars():
    return {"GOOG": load_sample("GOOG"), "NDX": load_sample("NASDAQ").iloc[-1500:]}


@pytest.fixture(scope="module")
def fitted(bars):
    """A bundle trained on GOOG and NDX x (sma, rsi) pooled, plus the sets it was trained on."""
    sets = {(sym, s): prepare_signal_set(bars[sym], sym, s, GRIDS[s], CONFIG) for sym in SYMBOLS for s in GRIDS}
    X, labels, w = pool_signal_sets({f"{sym}|{s}": (v.X, v.labels, v.weights) for (sym, s), v in sets.items()})
    scorer = make_scorer("xgboost", n_estimators=40).fit(X, labels["label"], w, labels["exit_time"].to_numpy())
    history = pd.concat([v.history for v in sets.values()], ignore_index=True)
    return ScorerBundle(scorer, CONFIG, list(X.columns), GRIDS, history, {"model": "xgboost"}), sets


def _signals(bars, symbol, strategy, stamps):
    sig = pooled_signals(bars[symbol], strategy, GRIDS[strategy]).loc[stamps]
    return pd.DataFrame({"symbol": symbol, "strategy": strategy, "ts": sig.index, "side": sig["side"].to_numpy(),
                         "strength": sig["strength"].to_numpy()})


def test_score_on_recent_bars_matches_the_training_row(fitted, bars):
    bundle, sets = fitted
    s = sets["GOOG", "rsi_mean_reversion"]
    ts = s.X.index[-30]
    recent = bars["GOOG"].loc[:ts].iloc[-history_bars(bundle):]
    (out,) = score(bundle, {"GOOG": recent}, _signals(bars, "GOOG", "rsi_mean_reversion", [ts]))
    trained = bundle.scorer.score_signals(s.X.loc[[ts]]).iloc[0]
    assert out.score == pytest.approx(trained["score"], abs=1e-6)
    assert out.prediction == trained["prediction"] and out.threshold == bundle.threshold
    assert 0 <= out.score <= 1 and 0.5 <= out.confidence <= 1 and out.ts == ts and out.explanation is None
    served = pd.Series(out.features).astype(float)
    expected = s.X.loc[ts, bundle.feature_columns]
    pd.testing.assert_series_equal(served, expected, check_names=False, rtol=1e-5)


def test_score_defaults_to_the_last_bar_and_the_symbols_history(fitted, bars):
    bundle, _ = fitted
    one = pd.DataFrame({"symbol": ["GOOG"], "strategy": ["sma_crossover"], "side": [-1], "strength": [0.2]})
    (out,) = score(bundle, bars, one)
    assert out.ts == bars["GOOG"].index[-1]
    assert out.prediction in ("SELL", "HOLD") and out.features["side"] == -1.0
    assert out.features["hist_n"] > 0
    (unknown,) = score(bundle, {"OTHER": bars["GOOG"]}, one.assign(symbol="OTHER"))
    assert unknown.features["hist_n"] == 0 and unknown.features["hist_win_rate"] == 0.5
    recent = bundle.history_for("GOOG").tail(3).drop(columns=["symbol"])
    (explicit,) = score(bundle, bars, one, history=recent)
    assert explicit.features["hist_n"] <= 3


def test_batch_of_mixed_symbols_and_strategies_scores_each_as_in_training(fitted, bars):
    bundle, sets = fitted
    groups = {("GOOG", "sma_crossover"): 3, ("NDX", "rsi_mean_reversion"): 4, ("GOOG", "rsi_mean_reversion"): 2,
              ("NDX", "sma_crossover"): 3}
    parts = [_signals(bars, sym, strat, sets[sym, strat].X.index[-k * 7:][::7]) for (sym, strat), k in groups.items()]
    batch = pd.concat(parts).sample(frac=1.0, random_state=1).reset_index(drop=True)
    out = score(bundle, bars, batch)
    assert [(o.symbol, o.strategy, o.ts, o.side) for o in out] == list(
        zip(batch["symbol"], batch["strategy"], batch["ts"], batch["side"]))
    for row, o in zip(batch.itertuples(), out):
        X = sets[row.symbol, row.strategy].X
        expected = X.loc[row.ts, bundle.feature_columns]
        pd.testing.assert_series_equal(pd.Series(o.features).astype(float), expected, check_names=False, rtol=1e-9)
        assert o.score == pytest.approx(bundle.scorer.score_signals(X.loc[[row.ts]])["score"].iloc[0], abs=1e-9)
        (alone,) = score(bundle, bars, batch.iloc[[row.Index]])
        assert alone.score == pytest.approx(o.score, abs=1e-12)


def test_explanations_only_when_asked(fitted, bars):
    bundle, sets = fitted
    batch = _signals(bars, "NDX", "sma_crossover", sets["NDX", "sma_crossover"].X.index[-3:])
    plain, explained = score(bundle, bars, batch), score(bundle, bars, batch, explain=True)
    assert all(o.explanation is None for o in plain)
    assert [o.score for o in plain] == [o.score for o in explained]
    for o in explained:
        expl = o.explanation
        assert expl["method"] == "xgboost_pred_contribs" and 0 < len(expl["contributions"]) <= 8
        mags = [abs(c["contribution"]) for c in expl["contributions"]]
        assert mags == sorted(mags, reverse=True) and mags[0] > 0
        assert {c["feature"] for c in expl["contributions"]} <= set(bundle.feature_columns)
    X = sets["NDX", "sma_crossover"].X
    baseline = ScorerBundle(make_scorer("take_all").fit(X, sets["NDX", "sma_crossover"].labels["label"]), CONFIG,
                            bundle.feature_columns, GRIDS, bundle.history)
    (note,) = score(baseline, bars, batch.iloc[:1], explain=True)
    assert note.explanation["method"] is None and note.explanation["contributions"] == []
    assert "no tree booster" in note.explanation["note"]


def test_score_rejects_bad_input_naming_the_field(fitted, bars):
    bundle, _ = fitted
    ok = {"symbol": "GOOG", "strategy": "sma_crossover", "side": 1}
    cases = [({**ok, "side": 0}, bars, "side", "side"),
             ({**ok, "stop_loss": 1e9}, bars, "plan.stop_loss", "must be below"),
             ({**ok, "side": -1, "take_profit": 1e9}, bars, "plan.take_profit", "must be below"),
             ({**ok, "ts": "1990-01-01"}, bars, "ts", "not a bar"),
             ({**ok, "ts": "yesterday-ish"}, bars, "ts", "ts"),
             (ok, {"GOOG": bars["GOOG"].iloc[:100]}, "ts", "need at least"),
             ({**ok, "strength": -1.0}, bars, "strength", "strength"),
             ({**ok, "symbol": "NOPE"}, bars, "bars", "NOPE"),
             ({"strategy": "sma_crossover", "side": 1}, bars, "symbol", "symbol")]
    for row, given, field, message in cases:
        with pytest.raises(BadInputError, match=message) as err:
            score(bundle, given, pd.DataFrame([row]))
        assert err.value.field == field, (row, err.value)
    with pytest.raises(TypeError, match="ScorerBundle"):
        score(bundle.scorer, bars, pd.DataFrame([ok]))


def test_history_bars_cover_every_feature_window_and_an_empty_batch_is_empty(fitted, bars):
    bundle, _ = fitted
    assert score(bundle, bars, pd.DataFrame(columns=["symbol", "strategy", "side"])) == []
    assert history_bars(bundle) == CONFIG.min_history_bars > CONFIG.trend_slow
    assert history_bars(bundle, 10**4) == 10**4


@pytest.fixture(scope="module")
def vol_models(bars):
    return SymbolModels({"GOOG": make_model("xgb", horizon=5, n_estimators=30).fit(bars["GOOG"]),
                         "NDX": make_model("har_gk_log", horizon=5).fit(bars["NDX"])}, "GOOG", {"horizon": 5})


def test_predict_a_mixed_batch_matches_each_model_and_the_training_features(vol_models, bars):
    origins = [("NDX", -1, 0.9), ("GOOG", -40, 0.8), ("NDX", -200, 0.8), ("GOOG", -1, 0.9), ("GOOG", -40, 0.9)]
    requests = pd.DataFrame({"symbol": [s for s, _, _ in origins],
                             "as_of": [bars[s].index[k] for s, k, _ in origins],
                             "coverage": [c for _, _, c in origins]})
    out = predict(vol_models, bars, requests)
    for (symbol, k, cov), o in zip(origins, out):
        upto = bars[symbol].loc[: o.as_of]
        direct = vol_models.for_symbol(symbol).predict_frame(upto, coverage=cov).iloc[-1]
        assert o.symbol == symbol and o.as_of == bars[symbol].index[k] and o.coverage == cov and o.horizon_bars == 5
        assert o.predicted == pytest.approx(direct["forecast"], rel=1e-12)
        assert (o.lower, o.upper) == pytest.approx((direct["lower"], direct["upper"]), rel=1e-12)
        assert o.lower < o.predicted < o.upper and o.explanation is None
        expected = compute_features(bars[symbol]).loc[o.as_of]
        got = pd.Series({k: np.nan if v is None else v for k, v in o.features.items()}, dtype=float)
        pd.testing.assert_series_equal(got, expected.astype(float), check_names=False, rtol=1e-9)
    assert out[1].predicted == out[4].predicted and out[1].lower > out[4].lower


def test_predict_explains_xgboost_and_har_models_only_when_asked(vol_models, bars):
    requests = pd.DataFrame({"symbol": ["GOOG", "NDX"]})
    xgb, har = predict(vol_models, bars, requests, explain=True)
    assert xgb.explanation["method"] == "xgboost_pred_contribs" and 0 < len(xgb.explanation["contributions"]) <= 8
    assert {c["feature"] for c in xgb.explanation["contributions"]} <= set(xgb.features)
    assert har.explanation["method"] == "har_linear_terms" and har.explanation["units"] == "ln variance of the forecast"
    terms = {c["feature"]: c["contribution"] for c in har.explanation["contributions"]}
    assert {"intercept", "har_1", "har_5", "har_22"} <= set(terms)  # the log-HAR's terms, all shown
    assert sum(terms.values()) == pytest.approx(2 * np.log(har.predicted), rel=1e-8)
    assert [o.predicted for o in predict(vol_models, bars, requests)] == [xgb.predicted, har.predicted]


def test_predict_rejects_bad_input_naming_the_field(vol_models, bars):
    assert predict(vol_models, bars, pd.DataFrame(columns=["symbol"])) == []
    cases = [({"symbol": "GOOG", "as_of": "1990-01-01"}, "as_of", "not a bar"),
             ({"symbol": "GOOG", "as_of": bars["GOOG"].index[10]}, "as_of", "not enough history"),
             ({"symbol": "GOOG", "coverage": 1.5}, "coverage", "coverage"),
             ({"symbol": "NOPE"}, "bars", "NOPE"), ({"as_of": bars["GOOG"].index[-1]}, "symbol", "symbol")]
    for row, field, message in cases:
        with pytest.raises(BadInputError, match=message) as err:
            predict(vol_models, bars, pd.DataFrame([row]))
        assert err.value.field == field, (row, err.value)
    unsorted = {"GOOG": bars["GOOG"].iloc[::-1]}
    with pytest.raises(BadInputError, match="increasing") as err:
        predict(vol_models, unsorted, pd.DataFrame([{"symbol": "GOOG"}]))
    assert err.value.field == "bars"
    with pytest.raises(TypeError, match="SymbolModels"):
        predict(vol_models.for_symbol("GOOG"), bars, pd.DataFrame([{"symbol": "GOOG"}]))


def test_feature_dicts_are_json_safe():
    frame = pd.DataFrame({"a": [1.0, np.nan], "b": [np.inf, 2.0]})
    assert inference.feature_dicts(frame, [1, 0]) == [{"a": None, "b": 2.0}, {"a": 1.0, "b": None}]


def test_any_strategy_is_scored_generically_and_a_trade_plan_sets_its_barriers(fitted, bars):
    bundle, _ = fitted
    ts = bars["GOOG"].index[-30]
    close = float(bars["GOOG"].loc[ts, "close"])
    base = {"symbol": "GOOG", "side": 1, "ts": ts}
    (own,) = score(bundle, bars, pd.DataFrame([{**base, "strategy": "my_breakout"}]))
    assert own.feature_set == "generic" and 0.0 <= own.score <= 1.0
    assert all(own.features[c] == 0.0 for c in own.features if c.startswith("strategy_"))
    (builtin,) = score(bundle, bars, pd.DataFrame([{**base, "strategy": "sma_crossover"}]))
    assert builtin.feature_set == "strategy" and builtin.features["strategy_sma_crossover"] == 1.0
    assert own.features["risk_reward"] == builtin.features["risk_reward"] == pytest.approx(
        bundle.feature_config.barrier.pt_mult / bundle.feature_config.barrier.sl_mult)
    (planned,) = score(bundle, bars, pd.DataFrame([{**base, "strategy": "my_breakout", "stop_multiple": 1.0,
                                                    "take_multiple": 3.0}]))
    assert planned.features["risk_reward"] == pytest.approx(3.0)
    assert planned.features["room_to_target"] == pytest.approx(own.features["room_to_target"] * 1.5 / 3.0)
    (priced,) = score(bundle, bars, pd.DataFrame([{**base, "strategy": "my_breakout", "stop_loss": close * 0.98,
                                                   "take_profit": close * 1.04}]))
    assert priced.features["risk_reward"] == pytest.approx(2.0, rel=1e-6)


def test_strategy_supplied_numbers_are_kept_and_used_only_by_a_scorer_trained_on_them(fitted, bars):
    """``caller_*`` columns: a scorer without them stores them with the features but scores as without; one
    trained with ``caller_confidence`` (NaN for the bar-derived rows, set for some) uses it."""
    bundle, sets = fitted
    ts = bars["GOOG"].index[-30]
    base = {"symbol": "GOOG", "side": 1, "ts": ts, "strategy": "my_breakout"}
    (plain,) = score(bundle, bars, pd.DataFrame([base]))
    (given,) = score(bundle, bars, pd.DataFrame([{**base, "caller_confidence": 0.9, "caller_zscore": -1.5}]))
    assert given.score == plain.score and given.caller_used == ()
    assert given.features["caller_confidence"] == 0.9 and given.features["caller_zscore"] == -1.5
    with pytest.raises(BadInputError) as err:
        score(bundle, bars, pd.DataFrame([{**base, "caller_zscore": float("inf")}]))
    assert err.value.field == "zscore"

    # a scorer trained with the strategy's confidence: high confidence on the winners of half the rows
    X, labels, w = pool_signal_sets({f"{sym}|{s}": (v.X, v.labels, v.weights) for (sym, s), v in sets.items()})
    rng = np.random.default_rng(0)
    known = rng.random(len(X)) < 0.5
    conf = np.where(labels["label"].to_numpy() == 1, 0.9, 0.1) + rng.normal(0, 0.05, len(X))
    X = X.assign(caller_confidence=np.where(known, conf, np.nan))
    scorer = make_scorer("xgboost", n_estimators=40).fit(X, labels["label"], w, labels["exit_time"].to_numpy())
    trained = ScorerBundle(scorer, CONFIG, list(X.columns), GRIDS, bundle.history, {"model": "xgboost"})
    (low,) = score(trained, bars, pd.DataFrame([{**base, "caller_confidence": 0.05}]))
    (high,) = score(trained, bars, pd.DataFrame([{**base, "caller_confidence": 0.95}]))
    (unknown,) = score(trained, bars, pd.DataFrame([base]))
    assert high.caller_used == low.caller_used == ("caller_confidence",) and unknown.caller_used == ()
    assert high.score > low.score + 0.2
    assert unknown.features["caller_confidence"] is None  # missing: NaN, as in the bar-derived training rows


def test_a_window_memo_computes_the_bar_context_once_and_scores_the_same(fitted, bars):
    """The bar-derived features memoised per window: the same scores and features for every strategy, side and
    earlier signal bar on it, with one context computation."""
    bundle, _ = fitted
    window = bars["GOOG"].iloc[-700:]
    stamps = [window.index[-1], window.index[-5]]
    rows = pd.DataFrame([{"symbol": "GOOG", "strategy": st, "side": side, "ts": ts}
                         for st in ("sma_crossover", "rsi_mean_reversion", "my_breakout") for side in (1, -1)
                         for ts in stamps])
    computed, kept = [], {}

    def memo(key, compute):
        if key not in kept:
            computed.append(key)
            kept[key] = compute()
        return kept[key]

    plain = score(bundle, {"GOOG": window}, rows)
    memoised = score(bundle, {"GOOG": window}, rows, window_keys={"GOOG": "w1"}, memo=memo)
    again = score(bundle, {"GOOG": window}, rows.iloc[::-1], window_keys={"GOOG": "w1"}, memo=memo)
    assert len(computed) == 1
    for a, b in zip(plain, memoised):
        assert a.score == b.score and a.features == b.features
    assert [r.score for r in again] == [r.score for r in plain][::-1]
    early = rows[rows["ts"] == stamps[1]].iloc[:2]  # only an earlier bar: the plain path cuts the window there
    assert [(r.score, r.features) for r in score(bundle, {"GOOG": window}, early)] == [
        (r.score, r.features) for r in score(bundle, {"GOOG": window}, early, window_keys={"GOOG": "w1"}, memo=memo)]
