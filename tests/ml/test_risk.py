"""Tests of ml.risk."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.risk import compare_sizing, max_drawdown, performance, position_size, sma_trend_signal


def test_position_size_scalar_array_series() -> None:
    assert position_size(1.0, 0.02, 0.01, 2.0) == pytest.approx(0.5)
    assert position_size(1.0, 0.001, 0.01, 2.0) == pytest.approx(2.0)
    arr = position_size(np.array([1.0, -1.0, 1.0]), np.array([0.01, 0.02, np.nan]), 0.01, 3.0)
    np.testing.assert_allclose(arr, [1.0, -0.5, 0.0])
    ser = position_size(2.0, pd.Series([0.01, 0.0, 0.04], index=list("abc")), 0.01)
    assert list(ser.index) == list("abc") and ser.tolist() == [2.0, 0.0, 0.5]


def test_max_drawdown_and_performance() -> None:
    assert max_drawdown(pd.Series([1.0, 2.0, 1.0, 3.0, 1.5])) == pytest.approx(0.5)
    perf = performance(pd.Series([0.1, -0.5, 0.2]))
    assert perf["total_return"] == pytest.approx(1.1 * 0.5 * 1.2 - 1)
    assert perf["max_drawdown"] == pytest.approx(0.5)


def test_sma_signal_is_causal() -> None:
    close = pd.Series(np.r_[np.ones(5), np.arange(2.0, 7.0)])
    sig = sma_trend_signal(close, 3)
    assert sig.iloc[:2].eq(0).all() and sig.iloc[5] == 1.0


def test_vol_targeting_cuts_drawdown_in_a_volatile_crash() -> None:
    rng = np.random.default_rng(0)
    vol = np.r_[np.full(500, 0.005), np.full(100, 0.04), np.full(400, 0.005)]
    drift = np.r_[np.full(500, 0.0005), np.full(100, -0.004), np.full(400, 0.0005)]
    ret = drift + vol * rng.standard_normal(1000)
    close = pd.Series(100 * np.cumprod(1 + ret), index=pd.date_range("2010-01-01", periods=1000, freq="B"))
    predicted = pd.Series(np.r_[vol[1:], vol[-1]], index=close.index)  # a perfect forecast of next-bar vol
    result = compare_sizing(close, predicted, target_vol=0.005, max_leverage=1.5)
    table = result.table
    assert set(table.index) == {"fixed", "vol_target"}
    assert table.loc["vol_target", "max_drawdown"] < 0.5 * table.loc["fixed", "max_drawdown"]
    assert table.loc["vol_target", "sharpe"] > table.loc["fixed", "sharpe"]
    # the position at t earns the return of t+1 only
    assert result.returns["fixed"].iloc[0] == pytest.approx(close.iloc[1] / close.iloc[0] - 1)


def test_rolling_target_is_causal_and_series_target_works() -> None:
    from ml.risk import rolling_target_vol

    vol = pd.Series(np.r_[np.full(100, 0.01), np.full(100, 0.02)], index=pd.date_range("2020-01-01", periods=200))
    target = rolling_target_vol(vol, window=50, min_periods=10)
    assert target.iloc[:9].isna().all() and target.iloc[99] == pytest.approx(0.01)
    moved = vol.copy()
    moved.iloc[150:] = 1.0
    assert rolling_target_vol(moved, 50, 10).iloc[:150].equals(target.iloc[:150])
    sizes = position_size(1.0, vol, target, max_leverage=2.0)
    assert sizes.iloc[99] == pytest.approx(1.0) and sizes.iloc[100] == pytest.approx(0.5)
    close = pd.Series(100 * np.cumprod(1 + np.r_[0, np.full(199, 0.001)]), index=vol.index)
    table = compare_sizing(close, vol, target, max_leverage=2.0).table
    assert table.loc["vol_target", "mean_exposure"] <= 1.0
