"""The feature frame of a bars frame (:func:`compute_features`): returns, realised volatility, indicators."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features.config import FeatureConfig, feature_columns
from ml.features.indicators import atr, bollinger_pctb, macd, rsi
from ml.features.proxies import VOL_ESTIMATORS, variance_proxy


def _realised_vol(bars: pd.DataFrame, config: FeatureConfig) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    for est in VOL_ESTIMATORS:
        var = variance_proxy(bars, est)
        for w in config.vol_windows:
            out[f"rv_{est}_{w}"] = np.sqrt(np.maximum(var.rolling(w, min_periods=w).mean(), 0.0))  # clip, 6x faster
    return out


def _volume(bars: pd.DataFrame, log_ret: pd.Series, window: int) -> dict[str, pd.Series]:
    logv = np.log1p(bars["volume"])
    roll = logv.rolling(window, min_periods=window)
    std = roll.std()
    z = ((logv - roll.mean()) / std.where(std > 0)).where(std.isna() | (std > 0), 0.0)
    signed = (np.sign(log_ret) * bars["volume"]).rolling(window, min_periods=window).sum()
    total = bars["volume"].rolling(window, min_periods=window).sum()
    vpt = (signed / total.where(total > 0)).where(total.isna() | (total > 0), 0.0)
    return {f"volume_z_{window}": z, f"vpt_{window}": vpt}


def _reference_corr(log_ret: pd.Series, reference_close: pd.Series | None, window: int) -> pd.Series:
    if reference_close is None:
        return pd.Series(np.nan, index=log_ret.index)
    ref = np.log(reference_close.astype("float64").reindex(log_ret.index)).diff()
    return log_ret.rolling(window, min_periods=window).corr(ref).clip(-1.0, 1.0)


def compute_features(
    bars: pd.DataFrame,
    config: FeatureConfig = FeatureConfig(),
    reference_close: pd.Series | None = None,
) -> pd.DataFrame:
    """Compute the feature frame of ``bars`` (same index; warm-up rows hold NaN).

    Args:
        bars: Bars frame (``DatetimeIndex`` ``ts``; float columns open, high, low, close, volume).
        config: Windows and horizons.
        reference_close: Close of a reference asset (e.g. SP500) for the rolling return
            correlation; it is aligned on ``bars.index`` (missing dates give NaN). ``None`` gives a
            NaN column so the column set does not depend on it.

    Returns:
        A float64 frame with columns :func:`feature_columns` ``(config)``.
    """
    close = bars["close"].astype("float64")
    log_ret = np.log(close).diff()
    cols: dict[str, pd.Series] = {"ret": close.pct_change(), "log_ret": log_ret}
    cols.update(_realised_vol(bars, config))
    cols[f"atr_{config.atr_window}"] = atr(bars, config.atr_window)
    cols[f"rsi_{config.rsi_window}"] = rsi(close, config.rsi_window)
    cols.update(macd(close, config.macd_fast, config.macd_slow, config.macd_signal))
    cols[f"bb_pctb_{config.bb_window}"] = bollinger_pctb(close, config.bb_window, config.bb_k)
    for h in config.momentum_horizons:
        cols[f"mom_{h}"] = close / close.shift(h) - 1.0
    cols.update(_volume(bars, log_ret, config.volume_window))
    cols[f"corr_ref_{config.corr_window}"] = _reference_corr(log_ret, reference_close, config.corr_window)
    index = pd.DatetimeIndex(bars.index)
    cols["dow"] = pd.Series(index.dayofweek, index=bars.index, dtype="float64")
    cols["month"] = pd.Series(index.month, index=bars.index, dtype="float64")
    frame = pd.DataFrame(cols, index=bars.index)[feature_columns(config)]
    return frame.astype("float64")
