"""Deflated Sharpe ratio and PBO (CSCV) on cases with known answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from ml.tuner.overfitting import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    pbo_cscv,
    probabilistic_sharpe_ratio,
)


def test_psr_matches_formula():
    sr, n, skew, kurt = 0.1, 250, -0.5, 5.0
    z = sr * np.sqrt(n - 1) / np.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr**2)
    assert probabilistic_sharpe_ratio(sr, n, skew, kurt) == pytest.approx(stats.norm.cdf(z))


def test_expected_max_sharpe_known_values():
    assert expected_max_sharpe(1, 1.0) == 0.0
    # the closed form approximates E[max of N standard normals] (Monte Carlo: 1.539 for N=10, 2.508 for 100)
    rng = np.random.default_rng(0)
    for n in (10, 100):
        mc = rng.standard_normal((20_000, n)).max(axis=1).mean()
        assert expected_max_sharpe(n, 1.0) == pytest.approx(mc, abs=0.05)
    assert expected_max_sharpe(1000, 4.0) == pytest.approx(2 * expected_max_sharpe(1000, 1.0))


def test_dsr_falls_as_trials_grow():
    rng = np.random.default_rng(0)
    returns = rng.normal(0.001, 0.01, 1000)  # per-period Sharpe ~ 0.1
    dsr = [deflated_sharpe_ratio(returns, n, sr_variance=0.002) for n in (1, 10, 100, 1000, 10000)]
    assert all(a > b for a, b in itertools.pairwise(dsr))
    assert dsr[0] == pytest.approx(probabilistic_sharpe_ratio(
        returns.mean() / returns.std(ddof=1), 1000, stats.skew(returns), stats.kurtosis(returns, fisher=False)))


def test_pbo_of_pure_noise_is_about_one_half():
    rng = np.random.default_rng(1)
    pbos = [pbo_cscv(rng.normal(0, 0.01, (1000, 40)), n_splits=10).pbo for _ in range(3)]
    assert np.mean(pbos) == pytest.approx(0.5, abs=0.15)


def test_pbo_low_when_one_trial_is_truly_better():
    rng = np.random.default_rng(2)
    returns = rng.normal(0, 0.01, (1000, 40))
    returns[:, 7] += 0.003  # per-period Sharpe 0.3: a real edge
    result = pbo_cscv(returns, n_splits=10)
    assert result.pbo < 0.05 and len(result.logits) == 252


def test_pbo_rejects_bad_input():
    with pytest.raises(ValueError):
        pbo_cscv(np.zeros((100, 5)), n_splits=5)
