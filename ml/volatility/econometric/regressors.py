"""The HAR regressors (mean variance over the lags, leverage, overnight) and the QLIKE log-linear fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from ml.features import variance_proxy
from ml.volatility.base import VOL_FLOOR
from ml.volatility.targets import log_returns

_VAR_FLOOR = VOL_FLOOR**2


def rolling_mean(values: np.ndarray, d: int) -> np.ndarray:
    """Mean of each ``d``-bar window ending at every bar (NaN for the first ``d - 1`` bars and for any window
    holding a NaN): ``Series.rolling(d, min_periods=d).mean()`` as a plain array, at a fraction of its cost."""
    out = np.full(len(values), np.nan)
    if len(values) >= d:
        out[d - 1:] = np.lib.stride_tricks.sliding_window_view(values, d).mean(axis=1)
    return out


def _mean_var_columns(var: pd.Series, lags: tuple[int, ...], prefix: str) -> dict[str, np.ndarray]:
    values = var.to_numpy(dtype="float64")
    positive = values[values > 0]
    floor = max(float(np.median(positive)) * 1e-3, _VAR_FLOOR) if positive.size else _VAR_FLOOR
    # np.maximum keeps NaN (like Series.clip) at a sixth of its cost, on the request path
    return {f"{prefix}_{d}": np.maximum(rolling_mean(values, d), floor) for d in lags}


def har_design(
    bars: pd.DataFrame,
    proxy: str,
    lags: tuple[int, ...],
    log: bool,
    leverage: bool = False,
    overnight: bool = False,
) -> pd.DataFrame:
    """HAR regressors: mean of the per-bar variance proxy over the last ``d`` bars, ``d`` in ``lags``.

    With ``leverage`` it adds the mean negative log return over the same windows (the
    leverage-HAR of Corsi & Reno 2012); with ``overnight`` the mean squared overnight return
    ``ln(O_t / C_{t-1})^2`` as separate regressors (range proxies miss the overnight gap).
    """
    cols = _mean_var_columns(variance_proxy(bars, proxy), lags, "har")
    if overnight:
        on = (np.log(bars["open"]) - np.log(bars["close"]).shift(1)) ** 2
        cols.update(_mean_var_columns(on, lags, "on"))
    if log:
        cols = {name: np.log(col) for name, col in cols.items()}
    if leverage:
        neg = np.minimum(log_returns(bars).to_numpy(dtype="float64"), 0.0)
        cols.update({f"lev_{d}": rolling_mean(neg, d) for d in lags})
    # one frame from all columns: inserting columns one by one copies the column index each time (request path)
    return pd.DataFrame(cols, index=bars.index)


def fit_qlike_log_linear(design: np.ndarray, var_target: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Coefficients ``b`` minimising mean QLIKE of the variance forecast ``exp(design @ b)``.

    ``y/exp(Xb) + Xb`` is convex in ``b`` (it is the gamma deviance with a log link, up to
    constants), so Newton's method from the log-OLS start converges; it targets the conditional
    mean of the variance, so no bias correction is needed.
    """

    def fun(b: np.ndarray) -> tuple[float, np.ndarray]:
        eta = design @ b
        w = var_target * np.exp(-eta)
        return float(np.mean(w + eta)), design.T @ (1.0 - w) / len(w)

    def hess(b: np.ndarray) -> np.ndarray:
        w = var_target * np.exp(-(design @ b))
        return (design * w[:, None]).T @ design / len(w)

    res = minimize(fun, start, jac=True, hess=hess, method="trust-exact")
    ok = np.all(np.isfinite(res.x)) and fun(res.x)[0] <= fun(start)[0]
    return res.x if ok else start
