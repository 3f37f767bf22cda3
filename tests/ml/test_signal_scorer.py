"""SignalQualityScorer and baselines: interface, calibration split, explanations, pickling."""

import pickle

import numpy as np
import pandas as pd
import pytest
from scipy.special import logit

from ml.signal_quality.scorer import (
    LogisticSignalScorer,
    ProbabilityCalibrator,
    SignalQualityScorer,
    TakeAllBaseline,
    auto_threshold,
)


def synthetic(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"],
                     index=pd.date_range("2000-01-01", periods=n, freq="D", name="ts"))
    X["side"] = rng.choice([-1.0, 1.0], n)
    p = 1 / (1 + np.exp(-(1.2 * X["a"] - 0.8 * X["b"] * X["side"])))
    y = (rng.random(n) < p.to_numpy()).astype(float)
    return X, y, p


@pytest.fixture(scope="module")
def fitted():
    X, y, _ = synthetic()
    return SignalQualityScorer(n_estimators=80).fit(X.iloc[:1000], y[:1000]), X.iloc[1000:]


@pytest.mark.parametrize("cls", [SignalQualityScorer, LogisticSignalScorer, TakeAllBaseline])
def test_scorers_share_the_interface(cls):
    X, y, _ = synthetic(600)
    model = cls().fit(X, y)
    assert model.fit(X, y) is model
    proba = model.predict_proba(X)
    assert proba.shape == (600, 2) and np.allclose(proba.sum(axis=1), 1)
    assert ((proba >= 0) & (proba <= 1)).all()
    out = model.score_signals(X)
    assert list(out.columns) == ["score", "confidence", "prediction"] and out.index.equals(X.index)
    assert set(out["prediction"]) <= {"BUY", "SELL", "HOLD"}
    assert ((out["confidence"] >= 0.5 - 1e-9) & (out["confidence"] <= 1)).all()
    clone = pickle.loads(pickle.dumps(model))
    assert np.array_equal(clone.score_array(X), model.score_array(X))


def test_take_all_baseline_takes_every_signal():
    X, y, _ = synthetic(600)
    out = TakeAllBaseline().fit(X, y).score_signals(X)
    assert (out["prediction"] != "HOLD").all() and out["score"].nunique() == 1


def test_prediction_follows_side_and_threshold(fitted):
    model, X = fitted
    out = model.score_signals(X)
    take = out["score"] >= model.threshold_
    assert (out.loc[~take, "prediction"] == "HOLD").all()
    assert (out.loc[take & (X["side"] > 0), "prediction"] == "BUY").all()
    assert (out.loc[take & (X["side"] < 0), "prediction"] == "SELL").all()
    assert take.any() and (~take).any()


def test_score_one_matches_batch(fitted):
    model, X = fitted
    batch = model.score_signals(X.iloc[:5])
    for i in range(5):
        one = model.score_one(X.iloc[i].to_numpy())
        assert one["score"] == pytest.approx(batch["score"].iloc[i])
        assert one["prediction"] == batch["prediction"].iloc[i]
        assert one["confidence"] == pytest.approx(batch["confidence"].iloc[i])


def test_columns_are_aligned_by_name(fitted):
    model, X = fitted
    shuffled = X[["d", "side", "c", "b", "a"]]
    assert np.array_equal(model.score_array(shuffled), model.score_array(X))


def test_model_learns_the_signal(fitted):
    from sklearn.metrics import roc_auc_score

    model, X = fitted
    _, y, _ = synthetic()
    assert roc_auc_score(y[1000:], model.score_array(X)) > 0.7


def test_shap_contributions_sum_to_raw_margin_and_top_k(fitted):
    model, X = fitted
    shap = model.shap_values(X.iloc[:20])
    raw = model._raw_proba(model._matrix(X.iloc[:20]))
    assert np.allclose(shap.sum(axis=1), logit(raw), atol=1e-4)
    top = model.feature_contributions(X.iloc[:20], top_k=3)
    assert len(top) == 60 and set(top["rank"]) == {1, 2, 3}
    first = top[top["row"] == 0]
    assert first["contribution"].abs().is_monotonic_decreasing
    assert model.gain_importance().index[0] == "a"


def test_calibration_fold_is_later_and_purged():
    X, _, _ = synthetic(100)
    model = SignalQualityScorer(calibration_fraction=0.3)
    ends = X.index + pd.Timedelta(days=5)
    fit_idx, cal_idx = model._split(X, np.arange(100), ends)
    assert cal_idx.tolist() == list(range(70, 100))
    assert fit_idx.max() < 70 and (ends[fit_idx] < X.index[70]).all()
    assert fit_idx.tolist() == list(range(65))  # labels of rows 65..69 end inside the fold


def test_fit_orders_rows_by_time():
    X, y, _ = synthetic(400)
    perm = np.random.default_rng(1).permutation(400)
    a = SignalQualityScorer(n_estimators=30).fit(X, y)
    b = SignalQualityScorer(n_estimators=30).fit(X.iloc[perm], y[perm])
    assert np.allclose(a.score_array(X), b.score_array(X))


def test_auto_threshold_keeps_at_least_min_keep():
    s = np.linspace(0, 1, 101)
    t = auto_threshold(s, 0.3)
    assert (s >= t).mean() >= 0.3 and (s >= t + 0.011).mean() < 0.3


@pytest.mark.parametrize("method", ["sigmoid", "isotonic"])
def test_calibrator_fixes_a_distorted_score(method):
    rng = np.random.default_rng(0)
    p = rng.uniform(0.05, 0.95, 20000)
    y = (rng.random(20000) < p).astype(int)
    raw = p ** 3  # monotone distortion
    cal = ProbabilityCalibrator(method).fit(raw, y)
    assert np.abs(cal.transform(raw) - p).mean() < (0.03 if method == "isotonic" else 0.06)


def test_confidence_grows_with_distance_from_threshold(fitted):
    model, _ = fitted
    s = np.array([model.threshold_, model.threshold_ + 0.05, model.threshold_ + 0.3])
    conf = model.confidence(np.clip(s, 0, 1))
    assert conf[0] == pytest.approx(0.5) and conf[0] < conf[1] < conf[2] + 1e-12
