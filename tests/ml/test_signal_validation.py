"""Purged, embargoed walk-forward CV and out-of-sample calibration of the scorer."""

import numpy as np
import pandas as pd
import pytest

from ml.signal_quality.scorer import SignalQualityScorer
from ml.signal_quality.validation import PurgedWalkForwardCV, evaluate_oos, walk_forward_predict


def intervals(n=400, seed=0):
    rng = np.random.default_rng(seed)
    t0 = pd.DatetimeIndex(np.sort(pd.Timestamp("2010-01-01") + pd.to_timedelta(
        rng.choice(np.arange(3 * n), n, replace=False), unit="D")), name="ts")
    t1 = t0 + pd.to_timedelta(rng.integers(0, 30, n), unit="D")
    return t0, t1


def overlaps(t0, t1, train, test):
    start, end = t0[test].min(), t1[test].max()
    return (t0[train] <= end) & (t1[train] >= start)


@pytest.mark.parametrize("walk_forward", [True, False])
def test_no_training_label_interval_overlaps_the_test_fold(walk_forward):
    t0, t1 = intervals()
    cv = PurgedWalkForwardCV(n_splits=5, embargo_pct=0.02, walk_forward=walk_forward)
    folds = list(cv.split(t0, t1))
    assert len(folds) == 5
    for train, test in folds:
        assert len(train) > 0 and not np.intersect1d(train, test).size
        assert not overlaps(t0, t1, train, test).any()
        if walk_forward:
            assert (t0[train] < t0[test].min()).all()
        embargo = 0.02 * (t0.max() - t0.min())
        after = t0[train] > t1[test].max()
        assert not (after & (t0[train] <= t1[test].max() + embargo)).any()


def test_purging_removes_exactly_the_overlapping_labels():
    t0 = pd.date_range("2020-01-01", periods=10, freq="D", name="ts")
    t1 = t0 + pd.Timedelta(days=2)  # each label lives 3 days
    cv = PurgedWalkForwardCV(n_splits=1, min_train_fraction=0.5, embargo_pct=0.0)
    (train, test), = cv.split(t0, t1)
    assert test.tolist() == [5, 6, 7, 8, 9]
    assert train.tolist() == [0, 1, 2]  # labels 3 and 4 end on/after day 5


def test_walk_forward_test_folds_cover_the_tail_once():
    t0, t1 = intervals(300)
    cv = PurgedWalkForwardCV(n_splits=4, min_train_fraction=0.4)
    tests = np.concatenate([te for _, te in cv.split(t0, t1)])
    assert tests.tolist() == list(range(120, 300))


def synthetic_signals(n, seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2000-01-01", periods=n, freq="h", name="ts")
    X = pd.DataFrame(rng.normal(size=(n, 3)), columns=["a", "b", "c"], index=idx)
    X["side"] = rng.choice([-1.0, 1.0], n)
    p_true = 1 / (1 + np.exp(-(0.3 + 1.0 * X["a"] - 0.7 * X["b"] * X["side"] + 0.5 * np.sin(2 * X["c"]))))
    y = (rng.random(n) < p_true).astype(float)
    labels = pd.DataFrame({"label": y, "exit_time": idx + pd.Timedelta(hours=5),
                           "ret": np.where(y == 1, 0.01, -0.01), "side": X["side"].astype(int)}, index=idx)
    return X, labels, p_true


@pytest.mark.slow
def test_out_of_sample_scores_are_calibrated_per_decile():
    X, labels, _ = synthetic_signals(20_000)
    cv = PurgedWalkForwardCV(n_splits=3, min_train_fraction=0.4)
    oos, models = walk_forward_predict(lambda: SignalQualityScorer(n_estimators=150, n_jobs=2), X, labels, cv)
    assert len(oos) == 12_000 and len(models) == 3
    table = evaluate_oos(oos)["calibration"]
    big = table[table["n"] >= 30]
    assert len(big) == 10
    assert (big["abs_gap"] <= 0.05).all(), table


def test_evaluate_oos_reports_everything_the_spec_asks_for():
    X, labels, _ = synthetic_signals(2_000, seed=1)
    oos, _ = walk_forward_predict(lambda: SignalQualityScorer(n_estimators=40), X, labels,
                                  PurgedWalkForwardCV(n_splits=2))
    ev = evaluate_oos(oos)
    assert {"auc", "brier", "precision", "recall", "f1", "ece"} <= set(ev["report"])
    assert ev["report"]["auc"] > 0.65
    assert list(ev["trading"].index) == ["all", "taken", "skipped"]
    assert {"win_rate", "mean_ret", "sharpe", "max_drawdown", "kept_frac"} <= set(ev["trading"].columns)
    assert ev["trading"].loc["taken", "win_rate"] > ev["trading"].loc["all", "win_rate"]
    assert ev["sweep"]["threshold"].tolist() == pytest.approx([0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8])
    assert ev["sweep"]["kept_frac"].is_monotonic_decreasing


def test_unresolved_labels_are_left_out_of_validation():
    X, labels, _ = synthetic_signals(600, seed=2)
    labels.iloc[-10:, labels.columns.get_loc("label")] = np.nan
    oos, _ = walk_forward_predict(lambda: SignalQualityScorer(n_estimators=10), X, labels,
                                  PurgedWalkForwardCV(n_splits=2))
    assert oos.index.max() == X.index[-11] and oos["label"].notna().all()


def test_pooled_sets_are_time_ordered_and_purged_across_sets():
    from ml.signal_quality.validation import pool_signal_sets

    Xa, la, _ = synthetic_signals(300, seed=3)
    Xb, lb, _ = synthetic_signals(200, seed=4)
    Xb.index = lb.index = Xb.index + pd.Timedelta(minutes=30)
    X, labels, w = pool_signal_sets({"a": (Xa, la, None), "b": (Xb, lb, None)})
    assert w is None and len(X) == 500 and X.index.is_monotonic_increasing
    assert labels["group"].value_counts().to_dict() == {"a": 300, "b": 200}
    assert X.index.equals(labels.index)
    for train, test in PurgedWalkForwardCV(n_splits=3).split(X.index, labels["exit_time"]):
        assert not overlaps(X.index, pd.DatetimeIndex(labels["exit_time"]), train, test).any()
    oos, _ = walk_forward_predict(lambda: SignalQualityScorer(n_estimators=10), X, labels,
                                  PurgedWalkForwardCV(n_splits=2))
    assert set(oos["group"]) == {"a", "b"}


def test_folds_computed_apart_and_concatenated_equal_the_whole_walk_forward():
    X, labels, _ = synthetic_signals(3_000)
    labels.iloc[::50, labels.columns.get_loc("label")] = np.nan  # unresolved rows are dropped either way
    cv = PurgedWalkForwardCV(n_splits=4, min_train_fraction=0.4)
    resolved = int(labels["label"].notna().sum())
    assert cv.test_folds(resolved) == [0, 1, 2, 3]
    assert cv.test_folds(3) == [0, 1]  # 2 samples to test in 4 splits: the 2 empty folds are not counted
    whole, _ = walk_forward_predict(lambda: SignalQualityScorer(n_estimators=30, n_jobs=1), X, labels, cv)
    parts = [walk_forward_predict(lambda: SignalQualityScorer(n_estimators=30, n_jobs=1), X, labels, cv,
                                  folds=[fold])[0] for fold in reversed(cv.test_folds(resolved))]
    pd.testing.assert_frame_equal(pd.concat(parts[::-1]), whole)
    assert sorted(parts[0]["fold"].unique()) == [3]
    with pytest.raises(ValueError, match="no test fold"):
        walk_forward_predict(lambda: SignalQualityScorer(n_estimators=30, n_jobs=1), X, labels, cv, folds=[9])
