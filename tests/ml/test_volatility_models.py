"""Tests of the volatility target and models (ml.volatility)."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from ml.datasets import load_sample
from ml.volatility import MODELS, GarchModel, HarModel, make_model, realised_vol_target
from ml.volatility.targets import trailing_realised_vol

FAST_MODELS = [name for name in MODELS if name != "ensemble"]


def simulate_garch(n: int, omega: float, alpha: float, beta: float, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Bars whose percent log returns follow a GARCH(1,1) with Student-t(8) innovations.

    Returns the bars and the true one-step-ahead variance ``s2_{t+1}`` (percent^2) known at t.
    """
    rng = np.random.default_rng(seed)
    z = rng.standard_t(8, n) / np.sqrt(8 / 6)
    s2 = np.empty(n + 1)
    r = np.empty(n)
    s2[0] = omega / (1 - alpha - beta)
    for t in range(n):
        r[t] = np.sqrt(s2[t]) * z[t]
        s2[t + 1] = omega + alpha * r[t] ** 2 + beta * s2[t]
    close = 100 * np.exp(np.cumsum(np.r_[0.0, r / 100]))
    gap = np.abs(r / 100) * 0.5
    idx = pd.date_range("2000-01-03", periods=n + 1, freq="B", name="ts")
    bars = pd.DataFrame({"open": close, "high": close * np.exp(np.r_[0, gap]), "low": close * np.exp(-np.r_[0, gap]),
                         "close": close, "volume": 1e6}, index=idx)
    bars["high"] = bars[["high", "open", "close"]].max(axis=1)
    bars["low"] = bars[["low", "open", "close"]].min(axis=1)
    return bars, s2[1:]


@pytest.fixture(scope="module")
def goog() -> pd.DataFrame:
    return load_sample("GOOG").iloc[:900]


def test_target_definition() -> None:
    bars = load_sample("GOOG").iloc[:50]
    r = np.log(bars["close"]).diff()
    y = realised_vol_target(bars, horizon=5)
    assert y.iloc[10] == pytest.approx(np.sqrt(np.mean(r.iloc[11:16] ** 2)))
    assert y.iloc[-5:].isna().all() and y.iloc[:-5].notna().all()
    assert trailing_realised_vol(bars, 5).iloc[15] == pytest.approx(y.iloc[10])


@pytest.mark.parametrize("name", FAST_MODELS)
def test_model_interface(goog: pd.DataFrame, name: str) -> None:
    model = make_model(name, horizon=5)
    assert model.get_params()["horizon"] == 5
    assert model.fit(goog.iloc[:700]) is model
    pred = model.predict(goog)
    assert pred.index.equals(goog.index)
    assert (pred.iloc[100:] > 0).all() and np.isfinite(pred.iloc[100:]).all()
    band = model.predict_interval(goog, coverage=0.9).iloc[100:]
    assert list(band.columns) == ["lower", "upper"]
    assert (band["lower"] < pred.iloc[100:]).all() and (pred.iloc[100:] < band["upper"]).all()
    clone = pickle.loads(pickle.dumps(model))
    pd.testing.assert_series_equal(clone.predict(goog), pred)
    # causal: forecasting from a truncated history gives the same value at its last bar
    t = 800
    assert model.predict(goog.iloc[: t + 1]).iloc[-1] == pytest.approx(pred.iloc[t], rel=1e-6)


@pytest.mark.slow
def test_ensemble_interface(goog: pd.DataFrame) -> None:
    model = make_model("ensemble").fit(goog.iloc[:700])
    pred = model.predict(goog)
    assert (pred.iloc[100:] > 0).all()
    assert model.weights_.shape == (len(model.members),) and (model.weights_ >= 0).all()
    assert pickle.loads(pickle.dumps(model)).predict(goog).equals(pred)


def test_unfitted_model_raises() -> None:
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        make_model("ewma").predict(load_sample("GOOG").iloc[:50])
    with pytest.raises(KeyError):
        make_model("nope")


def test_garch_recovers_true_conditional_variance() -> None:
    omega, alpha, beta = 0.05, 0.08, 0.90
    bars, true_s2 = simulate_garch(3000, omega, alpha, beta)
    model = GarchModel(horizon=1, cal_fraction=0.0).fit(bars)
    fitted = model.one_step_variance(bars).to_numpy()[1:]
    assert np.corrcoef(fitted[100:], true_s2[100:])[0, 1] > 0.9
    assert model.params_["alpha[1]"] + model.params_["beta[1]"] == pytest.approx(alpha + beta, abs=0.03)
    # h-step forecast tracks the true mean variance over t+1..t+5 as well
    h5 = GarchModel(horizon=5, cal_fraction=0.0).fit(bars).predict(bars).to_numpy()[1:] ** 2 * 1e4
    true_h5 = pd.Series(true_s2).rolling(5).mean().shift(-4).to_numpy()
    ok = ~np.isnan(true_h5)
    ok[:100] = False
    assert np.corrcoef(h5[ok], true_h5[ok])[0, 1] > 0.9


def test_garch_filter_matches_arch_fix() -> None:
    from arch import arch_model

    bars, _ = simulate_garch(1500, 0.05, 0.08, 0.90, seed=1)
    model = GarchModel(cal_fraction=0.0).fit(bars)
    r = 100 * np.log(bars["close"]).diff().dropna()
    fixed = arch_model(r, mean="Constant", vol="GARCH", p=1, q=1, dist="t").fix(list(model.params_.values()))
    ours = model.one_step_variance(bars).dropna().to_numpy()[:-1]
    theirs = fixed.conditional_volatility.to_numpy()[1:] ** 2
    np.testing.assert_allclose(ours[200:], theirs[200:], rtol=1e-6)


def test_conformal_interval_coverage_on_simulated_garch() -> None:
    bars, _ = simulate_garch(3000, 0.05, 0.08, 0.90, seed=2)
    model = HarModel(proxy="cc", log=True).fit(bars.iloc[:2000])
    band = model.predict_interval(bars, 0.9).iloc[2000:]
    y = realised_vol_target(bars, 5).iloc[2000:]
    ok = y.notna()
    cover = ((y[ok] >= band["lower"][ok]) & (y[ok] <= band["upper"][ok])).mean()
    assert 0.85 <= cover <= 0.95


def test_har_qlike_fit_not_worse_in_sample_qlike(goog: pd.DataFrame) -> None:
    from ml.metrics import qlike

    y = realised_vol_target(goog, 5)
    ols = HarModel(cal_fraction=0.0).fit(goog)
    ql = HarModel(loss="qlike", cal_fraction=0.0).fit(goog)
    ok = y.notna() & ols.predict(goog).notna()
    assert qlike(y[ok], ql.predict(goog)[ok]) <= qlike(y[ok], ols.predict(goog)[ok]) + 1e-9


def test_xgb_feature_importances(goog: pd.DataFrame) -> None:
    model = make_model("xgb").fit(goog.iloc[:700])
    imp = model.feature_importances_
    assert imp.index[0] == "ret" and imp.ge(0).all()
