"""Regression / volatility forecast metrics, the Diebold-Mariano test and the maximum drawdown.

Volatility inputs are volatilities (per-bar units); QLIKE is computed on variances.
Classification metrics live elsewhere. :func:`max_drawdown` is the one drawdown of the project (trade P&L
curves, sizing backtests and the vectorised strategy backtest all call it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

ArrayLike = np.ndarray | pd.Series


def _arrays(*xs: ArrayLike) -> list[np.ndarray]:
    return [np.asarray(x, dtype="float64") for x in xs]


def mse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean squared error."""
    y, p = _arrays(y_true, y_pred)
    return float(np.mean((y - p) ** 2))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error."""
    return float(np.sqrt(mse(y_true, y_pred)))


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error."""
    y, p = _arrays(y_true, y_pred)
    return float(np.mean(np.abs(y - p)))


def qlike_loss(realised_vol: ArrayLike, forecast_vol: ArrayLike, floor: float = 1e-12) -> np.ndarray:
    """Per-observation QLIKE (Patton 2011) on variances: ``RV/F - ln(RV/F) - 1`` with ``RV = vol^2``.

    Zero at a perfect forecast, robust to noise in the realised proxy, and it punishes
    under-forecasts more than over-forecasts.
    """
    y, p = _arrays(realised_vol, forecast_vol)
    ratio = np.maximum(y**2, floor) / np.maximum(p**2, floor)
    return ratio - np.log(ratio) - 1.0


def qlike(realised_vol: ArrayLike, forecast_vol: ArrayLike) -> float:
    """Mean QLIKE loss (see :func:`qlike_loss`)."""
    return float(np.mean(qlike_loss(realised_vol, forecast_vol)))


def directional_accuracy(realised: ArrayLike, forecast: ArrayLike, current: ArrayLike) -> float:
    """Share of bars where the forecast moves from the ``current`` level in the realised direction.

    Bars where the realised or forecast value equals ``current`` exactly are skipped.
    """
    y, p, c = _arrays(realised, forecast, current)
    up_true, up_pred = np.sign(y - c), np.sign(p - c)
    keep = (up_true != 0) & (up_pred != 0)
    return float(np.mean(up_true[keep] == up_pred[keep])) if keep.any() else float("nan")


def interval_coverage(y_true: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of observations inside ``[lower, upper]``."""
    y, lo, hi = _arrays(y_true, lower, upper)
    return float(np.mean((y >= lo) & (y <= hi)))


def mean_interval_width(lower: ArrayLike, upper: ArrayLike) -> float:
    """Mean of ``upper - lower``."""
    lo, hi = _arrays(lower, upper)
    return float(np.mean(hi - lo))


def max_drawdown(equity: ArrayLike, *, relative: bool = True) -> float | np.ndarray:
    """Largest peak-to-trough fall of an equity curve, or of each row of a 2-D array of curves.

    Args:
        equity: one curve (1-D) or curves (2-D: one per row, bars along the last axis).
        relative: True: the fall as a positive fraction of the running peak (a compounded equity curve);
            False: in the curve's own units (an additive, fixed-notional P&L curve).

    Returns:
        A float for one curve (NaN when it is empty), an array of them for 2-D input.
    """
    eq = np.asarray(equity, dtype="float64")
    if eq.shape[-1] == 0:
        return float("nan") if eq.ndim == 1 else np.full(eq.shape[:-1], np.nan)
    fall = np.maximum.accumulate(eq, axis=-1)
    if relative:
        np.divide(eq, fall, out=fall)
        np.subtract(1.0, fall, out=fall)
    else:
        np.subtract(fall, eq, out=fall)
    out = fall.max(axis=-1)
    return float(out) if out.ndim == 0 else out


def newey_west_variance(x: ArrayLike, lags: int) -> float:
    """HAC long-run variance of ``x`` (Newey & West 1987, Bartlett kernel, ``lags`` lags)."""
    (d,) = _arrays(x)
    d = d - d.mean()
    n = d.size
    var = float(d @ d) / n
    for lag in range(1, min(lags, n - 1) + 1):
        var += 2.0 * (1.0 - lag / (lags + 1.0)) * float(d[lag:] @ d[:-lag]) / n
    return var


@dataclass(frozen=True)
class DieboldMarianoResult:
    """Outcome of :func:`diebold_mariano`. ``statistic < 0`` means model A has the lower loss."""

    statistic: float
    pvalue: float
    mean_loss_diff: float
    n: int


def diebold_mariano(loss_a: ArrayLike, loss_b: ArrayLike, horizon: int = 1) -> DieboldMarianoResult:
    """Diebold-Mariano (1995) test of equal predictive accuracy, two-sided.

    The loss differential ``d = loss_a - loss_b`` of ``h``-step forecasts is autocorrelated up to
    lag ``h-1`` (overlapping targets), so its variance is the Newey-West HAC estimate with
    ``max(h - 1, n^(1/3))`` lags; the statistic gets the Harvey-Leybourne-Newbold (1997)
    small-sample correction and is compared with a Student-t with ``n - 1`` degrees of freedom.

    Args:
        loss_a: Per-observation losses of model A.
        loss_b: Per-observation losses of model B (same observations).
        horizon: Forecast horizon in bars.

    Returns:
        The statistic, two-sided p-value, mean loss differential and sample size.
    """
    a, b = _arrays(loss_a, loss_b)
    keep = np.isfinite(a) & np.isfinite(b)
    d = a[keep] - b[keep]
    n = d.size
    lags = max(horizon - 1, int(np.floor(n ** (1.0 / 3.0))))
    var = newey_west_variance(d, lags) / n
    if n < 3 or var <= 0:
        return DieboldMarianoResult(float("nan"), float("nan"), float(d.mean()) if n else float("nan"), n)
    hln = np.sqrt((n + 1 - 2 * horizon + horizon * (horizon - 1) / n) / n)
    stat = float(d.mean() / np.sqrt(var) * hln)
    pvalue = float(2.0 * stats.t.sf(abs(stat), df=n - 1))
    return DieboldMarianoResult(stat, pvalue, float(d.mean()), n)


def volatility_metrics(
    realised: ArrayLike,
    forecast: ArrayLike,
    current: ArrayLike | None = None,
    lower: ArrayLike | None = None,
    upper: ArrayLike | None = None,
) -> dict[str, float]:
    """All volatility metrics at once (rows with a NaN realised value or forecast are dropped).

    Returns:
        ``n, qlike, mse, rmse, mae`` plus ``dir_acc`` when ``current`` is given and ``coverage``,
        ``width`` when ``lower``/``upper`` are given.
    """
    y, p = _arrays(realised, forecast)
    keep = np.isfinite(y) & np.isfinite(p)
    out = {"n": float(keep.sum()), "qlike": qlike(y[keep], p[keep]), "mse": mse(y[keep], p[keep])}
    out.update(rmse=rmse(y[keep], p[keep]), mae=mae(y[keep], p[keep]))
    if current is not None:
        c = np.asarray(current, dtype="float64")[keep]
        out["dir_acc"] = directional_accuracy(y[keep], p[keep], c)
    if lower is not None and upper is not None:
        lo, hi = (np.asarray(v, dtype="float64")[keep] for v in (lower, upper))
        out["coverage"] = interval_coverage(y[keep], lo, hi)
        out["width"] = mean_interval_width(lo, hi)
    return out
