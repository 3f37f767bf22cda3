"""Vectorised indicators and event helpers shared by the strategies (SMA, rolling extremes, RSI, event fill,
crossings)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def _close(bars: pd.DataFrame) -> np.ndarray:
    return bars["close"].to_numpy(dtype=float)


def sma_matrix(values: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """Simple moving averages of ``values`` for many windows at once (cumulative-sum trick).

    Args:
        values: 1-D array of length ``n``.
        windows: 1-D int array of ``k`` window lengths (>= 1).

    Returns:
        ``(n, k)`` array; the first ``w - 1`` rows of a column with window ``w`` are NaN.
    """
    n = len(values)
    csum = np.concatenate([[0.0], np.cumsum(values)])
    rows = np.arange(n)[:, None]
    w = np.asarray(windows, dtype=int)[None, :]
    lagged = np.clip(rows + 1 - w, 0, None)
    out = (csum[rows + 1] - csum[lagged]) / w
    out[rows < w - 1] = np.nan
    return out


def rolling_extreme(values: np.ndarray, window: int, how: str) -> np.ndarray:
    """Max (``how="max"``) or min of the ``window`` bars BEFORE each bar (current bar excluded).

    The first ``window`` entries are NaN.
    """
    series = pd.Series(values)
    rolled = series.rolling(window).max() if how == "max" else series.rolling(window).min()
    return rolled.shift(1).to_numpy()


def wilder_rsi(close: np.ndarray, period: int) -> np.ndarray:
    """Relative Strength Index with Wilder's smoothing (Wilder 1978); first ``period`` bars NaN."""
    delta = np.diff(close, prepend=np.nan)
    gain = pd.Series(np.clip(delta, 0, None)).ewm(alpha=1.0 / period, adjust=False).mean()
    loss = pd.Series(np.clip(-delta, 0, None)).ewm(alpha=1.0 / period, adjust=False).mean()
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = 100.0 - 100.0 / (1.0 + gain.to_numpy() / loss.to_numpy())
    rsi = np.where(loss.to_numpy() == 0, 100.0, rsi)
    rsi[: period + 1] = np.nan
    return rsi


def ffill_events(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Forward-fill event ``values`` where ``mask`` is True along the time axis (axis 1).

    Both arrays have the ``(n_sets, n_bars)`` layout; states before a row's first event are 0.
    Implemented as one ``np.repeat`` of the event values over their run lengths (no Python loop,
    no 2-D accumulate), which is what makes batches of hundreds of parameter sets cheap.

    Returns:
        An int8 array of the same shape.
    """
    breaks = np.array(mask, dtype=bool, copy=True)
    breaks[:, 0] = True
    flat = np.flatnonzero(breaks)
    vals = np.where(mask.ravel()[flat], values.ravel()[flat], 0).astype(np.int8)
    lengths = np.diff(np.append(flat, breaks.size))
    return np.repeat(vals, lengths).reshape(breaks.shape)


def sign_rows(diff: np.ndarray) -> np.ndarray:
    """Sign of ``diff`` as int8 (NaN -> 0)."""
    return (diff > 0).view(np.int8) - (diff < 0).view(np.int8)


def crossings(sign: np.ndarray) -> np.ndarray:
    """Bars (axis 1) where ``sign`` of fast - slow flips strictly between -1 and +1.

    Same rule as ``backtesting.lib.crossover``: ``fast[t-1] < slow[t-1] and fast[t] > slow[t]``
    (or the reverse); a touch (equality) or a NaN is not a crossing.
    """
    cross = np.zeros(sign.shape, dtype=bool)
    cross[:, 1:] = (sign[:, 1:] != sign[:, :-1]) & (sign[:, :-1] != 0) & (sign[:, 1:] != 0)
    return cross

