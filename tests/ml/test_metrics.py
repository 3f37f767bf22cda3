"""Tests of ml.metrics."""

from __future__ import annotations

import numpy as np
import pytest

from ml.metrics import (
    diebold_mariano,
    directional_accuracy,
    interval_coverage,
    mae,
    mean_interval_width,
    mse,
    newey_west_variance,
    qlike,
    qlike_loss,
    rmse,
    volatility_metrics,
)


def test_point_metrics_by_hand() -> None:
    y, p = np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 5.0])
    assert mse(y, p) == pytest.approx(5.0 / 3.0)
    assert rmse(y, p) == pytest.approx(np.sqrt(5.0 / 3.0))
    assert mae(y, p) == pytest.approx(1.0)


def test_qlike_on_variances() -> None:
    assert qlike([0.02, 0.01], [0.02, 0.01]) == pytest.approx(0.0)
    ratio = 0.02**2 / 0.01**2
    assert qlike_loss([0.02], [0.01])[0] == pytest.approx(ratio - np.log(ratio) - 1)
    # under-forecasting by a factor is punished more than over-forecasting by the same factor
    assert qlike([0.02], [0.01]) > qlike([0.01], [0.02]) > 0


def test_directional_accuracy_and_intervals() -> None:
    realised, forecast, current = [2.0, 0.5, 2.0, 1.0], [1.5, 0.8, 0.5, 3.0], [1.0, 1.0, 1.0, 1.0]
    assert directional_accuracy(realised, forecast, current) == pytest.approx(2.0 / 3.0)
    assert interval_coverage([1, 2, 3], [0, 2.5, 2], [2, 3, 4]) == pytest.approx(2.0 / 3.0)
    assert mean_interval_width([0, 1], [2, 4]) == pytest.approx(2.5)


def test_newey_west_lag_zero_is_variance() -> None:
    x = np.random.default_rng(0).normal(size=500)
    assert newey_west_variance(x, 0) == pytest.approx(np.var(x))


def test_diebold_mariano() -> None:
    rng = np.random.default_rng(1)
    base = rng.gamma(2.0, 1.0, 2000)
    better = diebold_mariano(base * 0.8, base, horizon=5)
    assert better.statistic < 0 and better.pvalue < 1e-6
    noise = diebold_mariano(base + rng.normal(0, 0.5, 2000), base + rng.normal(0, 0.5, 2000), horizon=5)
    assert noise.pvalue > 0.01
    same = diebold_mariano(base, base)
    assert np.isnan(same.statistic) and same.mean_loss_diff == 0


def test_volatility_metrics_drops_nan() -> None:
    out = volatility_metrics([0.01, np.nan, 0.02], [0.01, 0.02, np.nan], [0.02, 0.0, 0.0], [0.005, 0, 0], [0.02, 1, 1])
    assert out["n"] == 1 and out["qlike"] == pytest.approx(0.0) and out["coverage"] == 1.0
