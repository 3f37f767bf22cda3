"""ScorerBundle: pooled signal generation, training-set assembly and pyfunc frame scoring (serving new
signals with the training features is tested with the inference API, tests/ml/test_inference.py)."""

import pickle

import numpy as np
import pandas as pd
import pytest

from ml.datasets import load_sample
from ml.signal_quality import SignalFeatureConfig
from ml.signal_quality.bundle import (
    HISTORY_COLUMNS,
    ScorerBundle,
    make_scorer,
    pooled_signals,
    prepare_signal_set,
)
from ml.signal_quality.validation import pool_signal_sets
from ml.strategies import make_strategy

GRIDS = {"sma_crossover": [{"fast": 5, "slow": 20}, {"fast": 10, "slow": 30}],
         "rsi_mean_reversion": [{"period": 3, "lower": 15.0, "upper": 85.0}, {"period": 7, "lower": 30.0, "upper": 70.0}]}
CONFIG = SignalFeatureConfig()


@pytest.fixture(scope="module")
def bars():
    return load_sample("GOOG")


@pytest.fixture(scope="module")
def fitted(bars):
    """A bundle trained on GOOG x (sma, rsi) pooled, plus the sets it was trained on."""
    sets = {s: prepare_signal_set(bars, "GOOG", s, GRIDS[s], CONFIG) for s in GRIDS}
    X, labels, w = pool_signal_sets({f"GOOG|{s}": (v.X, v.labels, v.weights) for s, v in sets.items()})
    scorer = make_scorer("xgboost", n_estimators=40).fit(X, labels["label"], w, labels["exit_time"].to_numpy())
    history = pd.concat([v.history for v in sets.values()], ignore_index=True)
    return ScorerBundle(scorer, CONFIG, list(X.columns), GRIDS, history, {"model": "xgboost"}), sets, X


def test_pooled_signals_merge_parameter_sets_and_drop_conflicts(bars):
    sig = pooled_signals(bars, "sma_crossover", GRIDS["sma_crossover"])
    assert sig.index.is_unique and sig.index.is_monotonic_increasing and set(sig["side"]) <= {-1, 1}
    each = [make_strategy("sma_crossover", **p).signals(bars) for p in GRIDS["sma_crossover"]]
    union = pd.concat(each)
    sides = union.groupby(level=0)["side"].nunique()
    agreeing = sides[sides == 1].index
    assert sig.index.equals(agreeing.sort_values())
    first = each[0].reindex(sig.index)["side"].dropna()
    assert (sig.loc[first.index, "side"] == first).all()
    assert pooled_signals(bars, "sma_crossover", []).equals(make_strategy("sma_crossover").signals(bars))


def test_prepare_signal_set_aligns_rows_and_skips_the_warm_up(fitted, bars):
    _, sets, _ = fitted
    s = sets["sma_crossover"]
    assert s.X.index.equals(s.labels.index) and s.X.index.equals(s.weights.index)
    assert s.X.index.min() >= bars.index[CONFIG.trend_slow]
    assert (s.labels["strategy"] == "sma_crossover").all()
    assert list(s.history.columns) == HISTORY_COLUMNS and s.history["label"].notna().all()
    assert (s.history["symbol"] == "GOOG").all() and len(s.history) >= s.labels["label"].notna().sum()


def test_make_scorer_ignores_parameters_a_model_does_not_take():
    assert make_scorer("take_all", n_estimators=5, min_keep=0.3).get_params() == make_scorer("take_all").get_params()
    assert make_scorer("logistic", n_estimators=5, min_keep=0.3).min_keep == 0.3
    with pytest.raises(ValueError, match="unknown scorer"):
        make_scorer("forest")


def test_predict_frame_scores_feature_rows_in_training_column_order(fitted):
    bundle, _, X = fitted
    rows = X.tail(20)
    expected = bundle.scorer.score_signals(rows).reset_index(drop=True)
    shuffled = rows.reset_index(drop=True)[list(reversed(bundle.feature_columns))].assign(extra=1.0)
    pd.testing.assert_frame_equal(bundle.predict_frame(shuffled), expected)
    with pytest.raises(ValueError, match="missing feature columns"):
        bundle.predict_frame(rows.drop(columns=["side"]))


def test_symbol_view_and_pickle_round_trip(fitted, bars):
    bundle, _, X = fitted
    view = bundle.for_symbol("GOOG")
    assert view.scorer is bundle.scorer and view.feature_config == CONFIG and len(view.history) == len(bundle.history)
    assert bundle.for_symbol("OTHER").history.empty and bundle.barrier == CONFIG.barrier
    clone = pickle.loads(pickle.dumps(bundle))
    rows = X.tail(10).reset_index(drop=True)
    pd.testing.assert_frame_equal(clone.predict_frame(rows), bundle.predict_frame(rows))
    signals = clone.signals(bars, "sma_crossover")
    assert signals.equals(pooled_signals(bars, "sma_crossover", GRIDS["sma_crossover"]))
    assert np.isfinite(clone.threshold)
