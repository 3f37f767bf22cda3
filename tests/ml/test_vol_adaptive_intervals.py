"""Adaptive conformal intervals of the volatility models (``ml.volatility.intervals``, issue 19)."""

from __future__ import annotations

import numpy as np
import pytest

from ml.volatility.intervals import (
    aci_path,
    conformal_quantiles,
    interval_offsets,
    weighted_quantiles,
)


def test_conformal_quantiles_ranks():
    r = np.arange(1.0, 20.0)  # n = 19: ranks ceil(20 * 0.95) = 19 and floor(20 * 0.05) = 1
    assert conformal_quantiles(r, 0.9) == (1.0, 19.0)
    assert conformal_quantiles(r, 0.5) == (5.0, 15.0)
    assert conformal_quantiles(r, 1.2) == (1.0, 19.0)  # a level beyond the sample: its extremes
    assert conformal_quantiles(np.zeros(0), 0.9) == (-np.inf, np.inf)


@pytest.mark.parametrize("n", [19, 100, 333])
def test_weighted_quantiles_with_unit_weights_are_split_conformal(n):
    r = np.random.default_rng(n).normal(size=n)
    assert weighted_quantiles(r, np.ones(n), 0.9) == conformal_quantiles(np.sort(r), 0.9)
    assert interval_offsets(r, 0.9, "ewm", 1e15) == interval_offsets(r, 0.9, "split")
    assert interval_offsets(r, 0.9, "window", n) == interval_offsets(r, 0.9, "split")


def test_aci_update_arithmetic_by_hand():
    # lag 1, warm-up 2, coverage 0.5 (alpha 0.5), gamma 0.1
    r = np.array([0.0, 1.0, 10.0, 0.5, -10.0, 0.2])
    alpha_t, alphas, errs = aci_path(r, 0.5, 0.1, lag=1, warmup=2)
    # step 2: resolved {0, 1}, alpha 0.5 -> level 0.5 on n = 2: ranks floor(0.75) -> 1, ceil(2.25) -> 3 (clipped to 2)
    #   interval [0, 1]; 10 is outside -> err 1
    # step 3: err_2 resolved: alpha = 0.5 + 0.1 (0.5 - 1) = 0.45; resolved {0, 1, 10}: level 0.55 -> ranks
    #   floor(4 * 0.225) = 0 -> 1 and ceil(4 * 0.775) = 4 -> 3: [0, 10]; 0.5 inside -> err 0
    # step 4: alpha = 0.45 + 0.05 = 0.5; resolved {0, 0.5, 1, 10}: ranks floor(1.25) = 1, ceil(3.75) = 4: [0, 10];
    #   -10 outside -> err 1
    # step 5: alpha = 0.5 - 0.05 = 0.45; resolved {-10, 0, 0.5, 1, 10}: ranks floor(1.65) = 1, ceil(4.65) = 5:
    #   [-10, 10]; 0.2 inside -> err 0; after the end err_5 resolves: alpha_T = 0.45 + 0.05 = 0.5
    np.testing.assert_allclose(alphas, [np.nan, np.nan, 0.5, 0.45, 0.5, 0.45])
    np.testing.assert_array_equal(errs, [np.nan, np.nan, 1.0, 0.0, 1.0, 0.0])
    assert alpha_t == pytest.approx(0.5)


def test_aci_levels_are_the_sum_of_resolved_errors():
    r = np.random.default_rng(1).standard_t(4, size=400)
    lag, gamma = 5, 0.02
    alpha_t, alphas, errs = aci_path(r, 0.9, gamma, lag)
    for i in np.flatnonzero(~np.isnan(alphas)):
        known = errs[: i - lag + 1]
        expected = 0.1 + gamma * np.nansum(0.1 - known[~np.isnan(known)])
        assert alphas[i] == pytest.approx(expected)
    assert alpha_t == pytest.approx(0.1 + gamma * np.nansum(0.1 - errs[~np.isnan(errs)]))


def test_aci_is_causal_no_residual_before_it_resolves():
    rng = np.random.default_rng(2)
    r = rng.normal(size=300)
    lag = 5
    _, alphas, errs = aci_path(r, 0.9, 0.01, lag)
    for k in (30, 120, 250):
        moved = r.copy()
        moved[k] += 50.0  # residual k: known only at bar k + lag
        _, alphas2, errs2 = aci_path(moved, 0.9, 0.01, lag)
        # every level up to bar k + lag and every other step's interval before it are unchanged
        np.testing.assert_array_equal(alphas2[: k + lag], alphas[: k + lag])
        others = np.r_[0:k, k + 1:k + lag]
        np.testing.assert_array_equal(errs2[others], errs[others])
        assert errs2[k] == 1.0  # the moved residual itself is outside its (earlier) interval


def test_aci_covers_through_a_variance_break_where_the_constant_interval_does_not():
    rng = np.random.default_rng(3)
    n_before, n_after = 500, 1500
    r = np.r_[rng.normal(0.0, 0.3, n_before), rng.normal(0.0, 0.6, n_after)]
    coverage = lambda errs: 1.0 - np.nanmean(errs)
    # gamma = 0: the expanding split-conformal interval (today's constant method, updated online)
    _, _, errs_const = aci_path(r, 0.9, 0.0, lag=5)
    _, _, errs_aci = aci_path(r, 0.9, 0.005, lag=5)
    assert not 0.87 <= coverage(errs_const) <= 0.93
    assert 0.87 <= coverage(errs_aci) <= 0.93
    # and after the break alone the constant one under-covers much more
    assert coverage(errs_const[n_before:]) < 0.85 < coverage(errs_aci[n_before:])


def test_frozen_aci_interval_widens_after_a_break_in_the_calibration_tail():
    rng = np.random.default_rng(4)
    r = np.r_[rng.normal(0.0, 0.3, 600), rng.normal(0.0, 0.6, 200)]
    lo_s, hi_s = interval_offsets(r, 0.9, "split")
    lo_a, hi_a = interval_offsets(r, 0.9, "aci", 0.005, lag=5)
    assert hi_a - lo_a > hi_s - lo_s
    calm = rng.normal(0.0, 0.3, 800)
    lo_c, hi_c = interval_offsets(calm, 0.9, "aci", 0.005, lag=5)
    assert abs((hi_c - lo_c) / np.subtract(*interval_offsets(calm, 0.9, "split")[::-1]) - 1) < 0.1


def test_unknown_method():
    with pytest.raises(ValueError, match="unknown interval method"):
        interval_offsets(np.zeros(30), 0.9, "nope")


def _bars(n: int = 1500, seed: int = 5):
    from tests.ml.test_volatility_models import simulate_garch

    return simulate_garch(n, 0.05, 0.08, 0.9, seed)[0]


def test_models_use_the_frozen_default_interval_and_old_pickles_keep_split():
    import pickle

    from ml.volatility import make_model
    from ml.volatility.intervals import DEFAULT_INTERVAL

    bars = _bars()
    model = make_model("har_gk_log", horizon=5).fit(bars)
    assert model.interval_method_ == DEFAULT_INTERVAL
    np.testing.assert_array_equal(np.sort(model.calibration_residuals_), model.conformal_residuals_)
    method, param = DEFAULT_INTERVAL
    lo, hi = interval_offsets(model.calibration_residuals_, 0.9, method, param, lag=5)
    frame = model.predict_frame(bars, 0.9)
    np.testing.assert_allclose(frame["lower"], frame["forecast"] * np.exp(lo))
    np.testing.assert_allclose(frame["upper"], frame["forecast"] * np.exp(hi))
    assert model.residual_quantiles(0.8) == interval_offsets(model.calibration_residuals_, 0.8, method, param, lag=5)
    # the state is frozen at fit: a pickled model gives the same interval
    again = pickle.loads(pickle.dumps(model))
    pd_frame = again.predict_frame(bars, 0.9)
    np.testing.assert_allclose(pd_frame.to_numpy(), frame.to_numpy())
    # a model pickled before the adaptive interval (no ordered residuals, no method): split conformal as before
    old = pickle.loads(pickle.dumps(model))
    for attr in ("calibration_residuals_", "interval_method_", "interval_cache_"):
        delattr(old, attr)
    assert old.residual_quantiles(0.9) == conformal_quantiles(model.conformal_residuals_, 0.9)
    assert old.predict_frame(bars, 0.9)["forecast"].equals(frame["forecast"])
