"""Overfitting guards: deflated Sharpe ratio and the probability of backtest overfitting.

* Probabilistic Sharpe ratio (Bailey & López de Prado 2012) and the **deflated Sharpe ratio**
  (Bailey & López de Prado 2014, "The Deflated Sharpe Ratio: Correcting for Selection Bias,
  Backtest Overfitting and Non-Normality"): the PSR of the selected strategy against the Sharpe
  ratio one expects from the best of ``n_trials`` unskilled trials,
  ``SR* = sqrt(V[SR]) * ((1 - g) * Z(1 - 1/N) + g * Z(1 - 1/(N e)))`` (g = Euler-Mascheroni).
* **PBO by CSCV** (Bailey, Borwein, López de Prado & Zhu 2015, "The Probability of Backtest
  Overfitting"): split the T x N matrix of trial returns into S blocks; for every choice of S/2
  blocks as in-sample, take the in-sample best trial and the logit of its out-of-sample relative
  rank; PBO = share of logits <= 0.

All Sharpe ratios here are per period (not annualised), as in the papers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy import stats

EULER_GAMMA = 0.5772156649015329


def sharpe_per_period(returns: np.ndarray) -> np.ndarray:
    """Mean / standard deviation (ddof 1) of returns along axis 0 (0 where the sd is 0)."""
    r = np.asarray(returns, dtype=float)
    sd = r.std(axis=0, ddof=1)
    return np.where(sd > 0, r.mean(axis=0) / np.where(sd > 0, sd, 1.0), 0.0)


def probabilistic_sharpe_ratio(sr: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0,
                               sr_benchmark: float = 0.0) -> float:
    """P(true Sharpe > ``sr_benchmark``) given an observed per-period ``sr`` over ``n_obs`` returns.

    ``kurtosis`` is the raw (non-excess) kurtosis; 3 for normal returns.
    """
    denom = 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr**2
    z = (sr - sr_benchmark) * np.sqrt(n_obs - 1) / np.sqrt(max(denom, 1e-12))
    return float(stats.norm.cdf(z))


def expected_max_sharpe(n_trials: int, sr_variance: float) -> float:
    """Expected maximum per-period Sharpe of ``n_trials`` unskilled trials (the DSR benchmark)."""
    if n_trials <= 1:
        return 0.0
    q1 = stats.norm.ppf(1.0 - 1.0 / n_trials)
    q2 = stats.norm.ppf(1.0 - 1.0 / (n_trials * np.e))
    return float(np.sqrt(max(sr_variance, 0.0)) * ((1 - EULER_GAMMA) * q1 + EULER_GAMMA * q2))


def deflated_sharpe_ratio(returns: np.ndarray, n_trials: int, sr_variance: float) -> float:
    """Deflated Sharpe ratio of the selected strategy's per-period ``returns``.

    Args:
        returns: Per-period returns of the selected (best) trial.
        n_trials: Number of (independent) trials tried to find it.
        sr_variance: Variance of the per-period Sharpe ratios across the trials.

    Returns:
        The probability that the true Sharpe exceeds the best-of-``n_trials`` luck benchmark.
    """
    r = np.asarray(returns, dtype=float)
    sr = float(sharpe_per_period(r))
    skew = float(stats.skew(r)) if r.std() > 0 else 0.0
    kurt = float(stats.kurtosis(r, fisher=False)) if r.std() > 0 else 3.0
    return probabilistic_sharpe_ratio(sr, len(r), skew, kurt, expected_max_sharpe(n_trials, sr_variance))


@dataclass
class PBOResult:
    """CSCV outcome: ``pbo`` and the logits of the in-sample winner's out-of-sample rank."""

    pbo: float
    logits: np.ndarray


def pbo_cscv(returns: np.ndarray, n_splits: int = 10) -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation.

    Args:
        returns: ``(T, N)`` per-period returns of ``N`` trials (``N >= 2``).
        n_splits: Even number ``S`` of row blocks; all ``C(S, S/2)`` splits are used.
    """
    r = np.asarray(returns, dtype=float)
    if n_splits % 2 or r.ndim != 2 or r.shape[1] < 2:
        raise ValueError("need an even n_splits and a (T, N >= 2) returns matrix")
    blocks = np.array_split(np.arange(len(r)), n_splits)
    sums = np.array([r[b].sum(axis=0) for b in blocks])
    squares = np.array([(r[b] ** 2).sum(axis=0) for b in blocks])
    counts = np.array([len(b) for b in blocks], dtype=float)
    combos = np.array([[i in c for i in range(n_splits)]
                       for c in itertools.combinations(range(n_splits), n_splits // 2)], dtype=float)

    def sharpe(mask: np.ndarray) -> np.ndarray:
        n = (mask @ counts)[:, None]
        mean = (mask @ sums) / n
        var = np.maximum((mask @ squares) / n - mean**2, 1e-300) * n / (n - 1)
        return mean / np.sqrt(var)

    is_sr, oos_sr = sharpe(combos), sharpe(1.0 - combos)
    winner = np.argmax(is_sr, axis=1)
    oos_winner = oos_sr[np.arange(len(combos)), winner]
    rank = (oos_sr < oos_winner[:, None]).sum(axis=1) + 1  # 1 = worst out of sample
    omega = rank / (r.shape[1] + 1)
    logits = np.log(omega / (1 - omega))
    return PBOResult(float(np.mean(logits <= 0)), logits)
