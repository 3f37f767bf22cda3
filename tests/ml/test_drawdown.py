"""The one maximum drawdown (``ml.metrics.max_drawdown``) and the three places that report one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml import backtest, classification_metrics, metrics, risk


def test_relative_drawdown_is_the_largest_fall_from_the_running_peak():
    assert metrics.max_drawdown([1.0, 2.0, 1.0, 3.0, 1.5]) == pytest.approx(0.5)
    assert metrics.max_drawdown([1.0, 1.1, 1.2]) == 0.0
    assert np.isnan(metrics.max_drawdown([]))


def test_absolute_drawdown_is_in_the_curves_units():
    assert metrics.max_drawdown([0.0, 0.03, -0.01, 0.02], relative=False) == pytest.approx(0.04)


def test_rows_of_a_2d_array_are_separate_curves():
    curves = np.array([[1.0, 2.0, 1.0, 3.0], [1.0, 0.5, 0.25, 1.0]])
    np.testing.assert_allclose(metrics.max_drawdown(curves), [0.5, 0.75])
    assert metrics.max_drawdown(curves).shape == (2,)


def test_every_reporter_agrees_with_it():
    rng = np.random.default_rng(3)
    returns = rng.normal(0.0005, 0.02, 500)
    equity = np.cumprod(1.0 + returns)
    expected = metrics.max_drawdown(equity)
    assert risk.max_drawdown(pd.Series(equity)) == pytest.approx(expected, abs=1e-15)
    assert risk.performance(pd.Series(returns))["max_drawdown"] == pytest.approx(expected, abs=1e-12)
    assert backtest.equity_metrics(equity[None, :])["max_drawdown"][0] == pytest.approx(expected, abs=1e-15)
    pnl = np.concatenate([[0.0], np.cumsum(returns)])
    assert classification_metrics.max_drawdown(returns) == pytest.approx(
        metrics.max_drawdown(pnl, relative=False), abs=1e-15)


def test_risk_skips_missing_values_as_before():
    assert risk.max_drawdown(pd.Series([1.0, np.nan, 2.0, 1.0])) == pytest.approx(0.5)
