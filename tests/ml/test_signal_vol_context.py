"""Volatility context of the signal features: worked examples of each column, causality of the walk-forward."""

import numpy as np
import pandas as pd
import pytest

from ml.datasets import load_sample
from ml.signal_quality.features.vol_context import (
    VOL_CONTEXT_COLUMNS,
    VolContextConfig,
    vol_context,
    vol_context_columns,
    walk_forward_vol,
)
from ml.volatility.targets import trailing_realised_vol

H = 2


def small_bars(returns):
    """Bars whose close-to-close log returns are ``returns`` (first close 100)."""
    close = 100.0 * np.exp(np.concatenate([[0.0], np.cumsum(returns)]))
    idx = pd.date_range("2020-01-01", periods=len(close), freq="D", name="ts")
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close, "volume": 1.0}, index=idx)


@pytest.fixture(scope="module")
def goog():
    return load_sample("GOOG").iloc[:900]


CFG = VolContextConfig(train_bars=504, refit_every=63)


@pytest.fixture(scope="module")
def goog_context(goog):
    return vol_context(goog, CFG)


def test_surprise_worked_example():
    # returns 0, 0.01, -0.03, 0.02, 0.04: RV(2) at bar 3 = sqrt((0.01^2 + 0.03^2) / 2) = sqrt(5e-4)
    bars = small_bars([0.0, 0.01, -0.03, 0.02, 0.04])
    forecast = pd.Series([np.nan, 0.01, 0.02, 0.05, 0.03, 0.03], index=bars.index)
    cols = vol_context_columns(bars, forecast, H)
    surprise = cols["x_vol_surprise"]
    assert surprise.iloc[:3].isna().all()  # RV warm at bar 2, but no forecast was made at bar 0
    assert surprise.iloc[3] == pytest.approx(np.log(np.sqrt(5e-4) / 0.01))  # forecast of bar 1
    assert surprise.iloc[4] == pytest.approx(np.log(np.sqrt((0.03**2 + 0.02**2) / 2) / 0.02))
    assert surprise.iloc[5] == pytest.approx(np.log(np.sqrt((0.02**2 + 0.04**2) / 2) / 0.05))


def test_regime_worked_example():
    bars = small_bars([0.0, 0.01, -0.03, 0.02, 0.04])
    forecast = pd.Series([np.nan, 0.01, 0.02, 0.05, 0.03, 0.03], index=bars.index)
    regime = vol_context_columns(bars, forecast, H)["x_vol_regime"]
    rv = [np.sqrt(v / 2) for v in (0.01**2, 0.01**2 + 0.03**2, 0.03**2 + 0.02**2, 0.02**2 + 0.04**2)]
    assert np.isnan(regime.iloc[0])  # no forecast
    assert np.isnan(regime.iloc[1])  # no realised vol yet (RV(2) is warm at bar 2)
    assert regime.iloc[2] == pytest.approx(np.log(0.02 / rv[0]))  # median of one value
    assert regime.iloc[3] == pytest.approx(np.log(0.05 / np.median(rv[:2])))
    assert regime.iloc[5] == pytest.approx(np.log(0.03 / np.median(rv)))


def test_columns_reuse_the_volatility_targets_realised_vol(goog, goog_context):
    fc = walk_forward_vol(goog, CFG)
    rv = trailing_realised_vol(goog, CFG.horizon)
    t = 700
    assert goog_context["x_vol_surprise"].iloc[t] == pytest.approx(np.log(rv.iloc[t] / fc.iloc[t - CFG.horizon]))
    assert goog_context["x_vol_regime"].iloc[t] == pytest.approx(np.log(fc.iloc[t] / rv.iloc[: t + 1].median()))


def test_nan_before_the_first_forecast_and_finite_after(goog_context):
    assert list(goog_context.columns) == list(VOL_CONTEXT_COLUMNS)
    assert goog_context.iloc[: CFG.train_bars].isna().all().all()
    assert goog_context["x_vol_regime"].iloc[CFG.train_bars:].notna().all()
    assert goog_context["x_vol_surprise"].iloc[: CFG.train_bars + CFG.horizon].isna().all()
    assert np.isfinite(goog_context["x_vol_surprise"].iloc[CFG.train_bars + CFG.horizon:]).all()


def test_too_short_a_series_is_all_nan(goog):
    short = vol_context(goog.iloc[: CFG.train_bars], CFG)
    assert short.isna().all().all() and len(short) == CFG.train_bars


def test_truncating_the_future_changes_no_past_row(goog, goog_context):
    cut = 640  # mid-block: the last refit before it stays, the ones after it go
    prefix = vol_context(goog.iloc[:cut], CFG)
    pd.testing.assert_frame_equal(prefix, goog_context.iloc[:cut])


def test_shocking_bars_after_a_date_changes_no_earlier_row(goog, goog_context):
    t = 700
    shocked = goog.copy()
    shocked.iloc[t + 1:, :4] *= np.exp(np.linspace(0.0, 0.5, len(goog) - t - 1))[:, None]  # prices after t only
    shocked.iloc[t + 1:: 7, 1] *= 1.05  # and rougher highs
    after = vol_context(shocked, CFG)
    pd.testing.assert_frame_equal(after.iloc[: t + 1], goog_context.iloc[: t + 1])
    assert not after.iloc[t + 1:].equals(goog_context.iloc[t + 1:])  # the shock is seen after t
