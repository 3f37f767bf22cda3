"""The cross-asset and regime context of a series' bars, from the closes of the other stored series.

One function, :func:`cross_asset_context`, used by training (the closes of every series of the training data)
and serving (the other stored series' closes) alike. Every column is causal: the other series are aligned
*as of* each bar time (their last close at or before it), and each rolling window ends at that close.

* the reference series (:func:`reference_symbol`): the first of ``config.reference_symbols`` that is not the
  series itself and has closes; its close goes to ``ml.features.compute_features``' ``reference_close`` (the
  rolling return correlation ``f_corr_ref_<window>``: no second correlation here);
* ``x_breadth``: the share of the other series whose close is above its own SMA(``breadth_window``) (NaN when
  no other series has a warm SMA at that time);
* ``x_ref_vol_ratio``: the reference's realised volatility over ``regime_short`` bars / over ``regime_long``
  bars (a calm/turbulent regime), and ``x_ref_trend``: the reference's close over its SMA(``trend_slow``) - 1.

Without closes (or without a reference) the columns are NaN: the columns never depend on the data.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ml.signal_quality.features.config import SignalFeatureConfig

#: The cross-asset columns (in order) :func:`cross_asset_context` adds to the bar-level features.
CROSS_ASSET_COLUMNS = ("x_breadth", "x_ref_vol_ratio", "x_ref_trend")


def reference_symbol(symbol: str | None, closes: Mapping[str, pd.Series],
                     config: SignalFeatureConfig) -> str | None:
    """The reference series of ``symbol``: the first configured one other than itself with closes (or None)."""
    for ref in config.reference_symbols:
        if ref != symbol and ref in closes and len(closes[ref]):
            return ref
    return None


def as_of(series: pd.Series, index: pd.Index) -> pd.Series:
    """``series`` (time-indexed) at each time of ``index``: its last value at or before it (NaN before its
    first)."""
    s = series[~series.index.duplicated(keep="last")].sort_index()
    if s.empty:
        return pd.Series(np.nan, index=index, dtype="float64")
    pos = s.index.searchsorted(pd.DatetimeIndex(index), side="right") - 1
    values = s.to_numpy(dtype="float64")[np.maximum(pos, 0)]
    return pd.Series(np.where(pos >= 0, values, np.nan), index=index, dtype="float64")


def _realised_vol(close: pd.Series, window: int) -> pd.Series:
    return np.log(close).diff().rolling(window, min_periods=window).std()


def breadth(index: pd.Index, others: Mapping[str, pd.Series], window: int) -> pd.Series:
    """Share of ``others`` (symbol -> close) above their own SMA(``window``), as of each time of ``index``."""
    above = []
    for close in others.values():
        c = close.astype("float64")
        sma = c.rolling(window, min_periods=window).mean()
        flag = (c > sma).astype("float64").where(sma.notna())
        above.append(as_of(flag, index).to_numpy())
    if not above:
        return pd.Series(np.nan, index=index, dtype="float64")
    stack = np.vstack(above)
    n = np.isfinite(stack).sum(axis=0)
    total = np.nansum(stack, axis=0)
    return pd.Series(np.where(n > 0, total / np.maximum(n, 1), np.nan), index=index, dtype="float64")


def cross_asset_context(bars: pd.DataFrame, closes: Mapping[str, pd.Series] | None, config: SignalFeatureConfig,
                        symbol: str | None = None) -> tuple[pd.Series | None, pd.DataFrame]:
    """The reference close aligned on ``bars`` (None without a reference) and the :data:`CROSS_ASSET_COLUMNS`.

    Args:
        bars: The series' bars (``ts`` index).
        closes: Symbol -> close series (``ts`` index) of the stored series; ``symbol``'s own is ignored.
        config: ``reference_symbols``, ``breadth_window``, ``regime_short``/``regime_long``, ``trend_slow``.
        symbol: The series' symbol (so that it is neither its own reference nor in its breadth).

    Returns:
        ``(reference_close, frame)``: the reference's close as of each bar (for
        ``compute_features(reference_close=...)``) and a float frame indexed like ``bars``.
    """
    others = {s: c for s, c in (closes or {}).items() if s != symbol and c is not None and len(c)}
    index = bars.index
    frame = pd.DataFrame(index=index)
    frame["x_breadth"] = breadth(index, others, config.breadth_window)
    ref = reference_symbol(symbol, others, config)
    if ref is None:
        frame["x_ref_vol_ratio"] = np.nan
        frame["x_ref_trend"] = np.nan
        return None, frame.astype("float64")
    close = others[ref].astype("float64")
    close = close[~close.index.duplicated(keep="last")].sort_index()
    ratio = _realised_vol(close, config.regime_short) / _realised_vol(close, config.regime_long)
    trend = close / close.rolling(config.trend_slow, min_periods=config.trend_slow).mean() - 1.0
    frame["x_ref_vol_ratio"] = as_of(ratio, index)
    frame["x_ref_trend"] = as_of(trend, index)
    return as_of(close, index), frame.replace([np.inf, -np.inf], np.nan).astype("float64")
