"""Conformal interval offsets from a model's time-ordered calibration log residuals (issue 19).

Every volatility model keeps, when fitted, the log residuals ``e_j = ln RV_j - ln forecast_j`` of its calibration
tail in time order (:attr:`ml.volatility.base.VolatilityModel.calibration_residuals_`). Its ``coverage`` interval is
``forecast * exp(lo), forecast * exp(hi)`` with ``(lo, hi)`` from one of these methods, all frozen at the end of
``fit`` (serving uses that state; nothing is updated after training):

* ``"split"``: split-conformal quantiles of every calibration residual (today's interval, a constant log width);
* ``"aci"``: adaptive conformal inference (Gibbs & Candes 2021) run online over the calibration residuals:
  ``alpha_{i+1} = alpha_i + gamma (alpha - err_{i+1-h})``. The interval at step ``i`` is made from the residuals
  already *resolved* at bar ``i`` (forecast bar ``j <= i - h``: a residual is known ``h`` bars after its forecast)
  at the level ``1 - alpha_i``, and ``err_i`` (residual ``i`` outside it) enters the update only at step ``i + h``.
  The served interval is the split quantile of every calibration residual at the final level ``1 - alpha_T``;
* ``"window"``: split-conformal quantiles of the last ``param`` residuals only;
* ``"ewm"``: weighted conformal quantiles (Barber et al. 2023, non-exchangeable conformal) with weights halving
  every ``param`` residuals back from the newest and weight 1 for the test point.

Ranks beyond the sample are clipped to its extremes (as :func:`conformal_quantiles` does), so a level
``1 - alpha >= 1`` gives the residual range, never an infinite interval.

Pure: numpy only.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence

import numpy as np

#: The production interval (``(method, param)`` of :func:`interval_offsets`) of every volatility model fitted from now
#: on. Chosen by the rule declared in ``benchmarks/bench_vol_intervals.py`` (``--mode adaptive``) on the scorecard's
#: selection walk-forward: ACI with gamma 0.005 and 0.01 put the 90% coverage in 0.87-0.93 in all 9 series x model
#: cells (split: 7 of 9, GOOG 0.836 for both HARs), 0.005 with the smaller median width (1.088x split's; see
#: benchmarks/RESULTS.md, "Lockbox scorecard", 2026-12-04). The stacked ensemble uses it too (its validation
#: residuals in time order); models and ensembles pickled before either change keep split conformal.
DEFAULT_INTERVAL: tuple[str, float] = ("aci", 0.005)
#: Fewest resolved residuals before ACI starts making intervals and counting errors.
ACI_WARMUP = 20
METHODS = ("split", "aci", "window", "ewm")


def conformal_quantiles(sorted_residuals: np.ndarray | Sequence[float], coverage: float) -> tuple[float, float]:
    """Split-conformal quantiles ``(lo, hi)`` of sorted calibration residuals for a two-sided ``coverage``
    (the ``ceil((n + 1)(1 - alpha/2))``-th smallest above, the ``floor((n + 1) alpha/2)``-th below, both clipped to
    the sample; infinite when there are none)."""
    n = len(sorted_residuals)
    if n == 0:
        return (-np.inf, np.inf)
    alpha = 1.0 - coverage
    k_hi = min(max(int(np.ceil((n + 1) * (1 - alpha / 2))), 1), n) - 1
    k_lo = min(max(int(np.floor((n + 1) * (alpha / 2))), 1), n) - 1
    return float(sorted_residuals[k_lo]), float(sorted_residuals[k_hi])


def _weighted_upper(values: np.ndarray, weights: np.ndarray, level: float) -> float:
    """Smallest value whose weighted share (test point weight 1 in the denominator) reaches ``level``."""
    order = np.argsort(values, kind="stable")
    share = np.cumsum(weights[order]) / (weights.sum() + 1.0)
    k = int(np.searchsorted(share, level - 1e-12))
    return float(values[order][min(k, values.size - 1)])


def weighted_quantiles(residuals: np.ndarray, weights: np.ndarray, coverage: float) -> tuple[float, float]:
    """Weighted conformal ``(lo, hi)``; with unit weights it equals :func:`conformal_quantiles`."""
    if residuals.size == 0:
        return (-np.inf, np.inf)
    a = 1.0 - coverage
    return -_weighted_upper(-residuals, weights, 1 - a / 2), _weighted_upper(residuals, weights, 1 - a / 2)


def aci_path(residuals: np.ndarray, coverage: float, gamma: float, lag: int,
             warmup: int = ACI_WARMUP) -> tuple[float, np.ndarray, np.ndarray]:
    """Run ACI over time-ordered residuals.

    Args:
        residuals: Calibration log residuals in time order (one per forecast bar).
        coverage: Nominal two-sided coverage (``alpha = 1 - coverage``).
        gamma: Step size.
        lag: Bars until a residual is resolved (the forecast horizon).
        warmup: Resolved residuals needed before the first interval.

    Returns:
        ``(alpha_T, alphas, errs)``: the level after every error is known, the level used at each step and the
        miss indicator of each step (NaN before the warm-up).
    """
    n = residuals.size
    alpha0 = 1.0 - coverage
    alphas, errs = np.full(n, np.nan), np.full(n, np.nan)
    alpha, resolved = alpha0, []  # resolved: the residuals known so far, kept sorted
    for i in range(n):
        j = i - lag  # the newest residual resolved at bar i; its error (if any) is known now
        if j >= 0:
            bisect.insort(resolved, float(residuals[j]))
            if not np.isnan(errs[j]):
                alpha += gamma * (alpha0 - errs[j])
        if len(resolved) < warmup:
            continue
        lo, hi = conformal_quantiles(resolved, 1.0 - alpha)
        alphas[i] = alpha
        errs[i] = float(not lo <= residuals[i] <= hi)
    for j in range(max(n - lag, 0), n):  # the last errors resolve after the last step
        if not np.isnan(errs[j]):
            alpha += gamma * (alpha0 - errs[j])
    return alpha, alphas, errs


def interval_offsets(residuals: np.ndarray, coverage: float, method: str = "split", param: float = 0.0,
                     lag: int = 5) -> tuple[float, float]:
    """Log offsets ``(lo, hi)`` of the ``coverage`` interval from time-ordered calibration ``residuals``.

    Args:
        residuals: Calibration log residuals in time order.
        coverage: Nominal two-sided coverage.
        method: One of :data:`METHODS`.
        param: ``gamma`` (aci), the window length (window) or the half-life in residuals (ewm).
        lag: Forecast horizon (aci only: when a residual is resolved).
    """
    r = np.asarray(residuals, dtype=float)
    r = r[~np.isnan(r)]
    if method == "split":
        return conformal_quantiles(np.sort(r), coverage)
    if method == "aci":
        alpha, _, _ = aci_path(r, coverage, param, lag)
        return conformal_quantiles(np.sort(r), 1.0 - alpha)
    if method == "window":
        return conformal_quantiles(np.sort(r[-int(param):]), coverage)
    if method == "ewm":
        age = np.arange(r.size)[::-1]
        return weighted_quantiles(r, 0.5 ** (age / param), coverage)
    raise ValueError(f"unknown interval method {method!r}; choose from {METHODS}")
