"""The stacked ensemble's interval is the single models' adaptive conformal one (``ml.volatility.intervals``,
issue 19): its validation residuals are kept in time order, ``DEFAULT_INTERVAL`` is frozen at fit, and ensembles
pickled before that keep split conformal."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from ml.volatility import EnsembleModel
from ml.volatility.base import VOL_FLOOR
from ml.volatility.intervals import DEFAULT_INTERVAL, conformal_quantiles, interval_offsets
from ml.volatility.targets import realised_vol_target


@pytest.fixture(scope="module", params=["equal", "nnls"])
def fitted(request):
    from tests.ml.test_volatility_models import simulate_garch

    bars = simulate_garch(1500, 0.05, 0.08, 0.9, 5)[0]
    model = EnsembleModel(horizon=5, members=("har_gk_log", "har_pk_log"), combination=request.param).fit(bars)
    return bars, model


def test_the_ensemble_uses_the_default_adaptive_interval(fitted):
    bars, model = fitted
    assert DEFAULT_INTERVAL[0] == "aci" and model.interval_method_ == DEFAULT_INTERVAL
    method, param = DEFAULT_INTERVAL
    for coverage in (0.9, 0.8):
        expected = interval_offsets(model.calibration_residuals_, coverage, method, param, lag=model.horizon)
        assert model.residual_quantiles(coverage) == expected
    lo, hi = model.residual_quantiles(0.9)
    frame = model.predict_frame(bars, 0.9)
    np.testing.assert_allclose(frame["lower"], frame["forecast"] * np.exp(lo))
    np.testing.assert_allclose(frame["upper"], frame["forecast"] * np.exp(hi))
    again = pickle.loads(pickle.dumps(model))  # the state is frozen at fit
    np.testing.assert_allclose(again.predict_frame(bars, 0.9).to_numpy(), frame.to_numpy())


def test_the_ensemble_keeps_its_validation_residuals_in_time_order(fitted):
    bars, model = fitted
    split = len(bars) - int(len(bars) * model.cal_fraction)
    head = model._fit_members(bars.iloc[:split])
    log_var = model.intercept_ + model._member_log_var(head, bars).iloc[split:].to_numpy() @ model.weights_
    target = realised_vol_target(bars, model.horizon).clip(lower=VOL_FLOOR).iloc[split:]
    resid = np.log(target.to_numpy()) - 0.5 * log_var - np.log(model.scale_)
    np.testing.assert_allclose(model.calibration_residuals_, resid[~np.isnan(resid)], rtol=1e-9, atol=1e-12)
    np.testing.assert_array_equal(np.sort(model.calibration_residuals_), model.conformal_residuals_)


def test_an_ensemble_pickled_before_keeps_split_conformal(fitted):
    bars, model = fitted
    old = pickle.loads(pickle.dumps(model))
    for attr in ("calibration_residuals_", "interval_method_", "interval_cache_"):
        delattr(old, attr)  # what an ensemble fitted before the change carries: sorted residuals only
    assert old.residual_quantiles(0.9) == conformal_quantiles(model.conformal_residuals_, 0.9)
    assert old.residual_quantiles(0.9) != model.residual_quantiles(0.9)  # ACI moved the level on these bars
    assert old.predict_frame(bars, 0.9)["forecast"].equals(model.predict_frame(bars, 0.9)["forecast"])
