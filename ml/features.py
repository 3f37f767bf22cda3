"""Causal, vectorised features over a bars frame (shared by training and serving).

Every feature at bar ``t`` uses bars ``<= t`` only. Exponentially smoothed features (ATR, RSI,
MACD) depend on the whole past with geometrically decaying weights, so on a short recent window
they match the full-history values once the window is longer than :func:`min_history` bars
(the residual difference is below ``1e-8`` relative).

Volatility columns are in per-bar units (e.g. daily for daily bars), as fractions (0.01 = 1%).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

VOL_ESTIMATORS = ("cc", "pk", "gk", "rs")
_LN2 = np.log(2.0)


def variance_proxy(bars: pd.DataFrame, kind: str = "cc") -> pd.Series:
    """Per-bar variance proxy (squared per-bar units).

    Args:
        bars: Bars frame.
        kind: ``"cc"`` squared close-to-close log return; ``"pk"`` Parkinson (1980)
            ``ln(H/L)^2 / (4 ln 2)``; ``"gk"`` Garman-Klass (1980)
            ``0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2``; ``"rs"`` Rogers-Satchell (1991)
            ``ln(H/C) ln(H/O) + ln(L/C) ln(L/O)``. Range-based proxies measure the open-to-close
            session only; add the squared overnight return ``ln(O_t/C_{t-1})^2`` for the full bar
            with the ``"+on"`` suffix (e.g. ``"gk+on"``).

    Returns:
        The proxy at each bar (NaN where it needs the previous close on the first bar).
    """
    base, _, extra = kind.partition("+")
    o, h, l, c = (np.log(bars[k].astype("float64")) for k in ("open", "high", "low", "close"))
    if base == "cc":
        var = c.diff() ** 2
    elif base == "pk":
        var = (h - l) ** 2 / (4.0 * _LN2)
    elif base == "gk":
        var = 0.5 * (h - l) ** 2 - (2.0 * _LN2 - 1.0) * (c - o) ** 2
    elif base == "rs":
        var = (h - c) * (h - o) + (l - c) * (l - o)
    else:
        raise ValueError(f"unknown variance proxy {kind!r}")
    if extra == "on":
        var = var + (o - c.shift(1)) ** 2
    elif extra:
        raise ValueError(f"unknown variance proxy suffix in {kind!r}")
    return var.rename(kind)


@dataclass(frozen=True)
class FeatureConfig:
    """Windows and horizons of :func:`compute_features`.

    Attributes:
        vol_windows: Windows (bars) of the realised-volatility features.
        atr_window: Wilder ATR window.
        rsi_window: Wilder RSI window.
        macd_fast: MACD fast EMA span.
        macd_slow: MACD slow EMA span.
        macd_signal: MACD signal EMA span.
        bb_window: Bollinger window.
        bb_k: Bollinger band width in standard deviations.
        momentum_horizons: Horizons (bars) of the simple-return momentum features.
        volume_window: Window of the volume z-score and volume/price-trend features.
        corr_window: Window of the rolling correlation with the reference asset.
    """

    vol_windows: tuple[int, ...] = (1, 5, 22, 66)
    atr_window: int = 14
    rsi_window: int = 14
    macd_fast: int = 12
    macd_slow: int = 26
    macd_signal: int = 9
    bb_window: int = 20
    bb_k: float = 2.0
    momentum_horizons: tuple[int, ...] = (5, 22, 66)
    volume_window: int = 22
    corr_window: int = 66

    def config_hash(self) -> str:
        """Return a short, stable hex digest of the configuration fields."""
        payload = json.dumps(asdict(self), sort_keys=True, default=list)
        return hashlib.sha256(payload.encode()).hexdigest()[:12]


def feature_columns(config: FeatureConfig = FeatureConfig()) -> list[str]:
    """Return the ordered feature column names produced for ``config``."""
    cols = ["ret", "log_ret"]
    cols += [f"rv_{est}_{w}" for w in config.vol_windows for est in VOL_ESTIMATORS]
    cols += [f"atr_{config.atr_window}", f"rsi_{config.rsi_window}", "macd", "macd_signal", "macd_hist"]
    cols += [f"bb_pctb_{config.bb_window}"]
    cols += [f"mom_{h}" for h in config.momentum_horizons]
    cols += [f"volume_z_{config.volume_window}", f"vpt_{config.volume_window}"]
    cols += [f"corr_ref_{config.corr_window}", "dow", "month"]
    return cols


FEATURE_COLUMNS: list[str] = feature_columns()


def min_history(config: FeatureConfig = FeatureConfig()) -> int:
    """Bars needed so that the last row equals the full-history value (within ``1e-8`` relative)."""
    longest = max(*config.vol_windows, *config.momentum_horizons, config.corr_window, config.bb_window)
    return max(longest + 1, 300)


def _realised_vol(bars: pd.DataFrame, config: FeatureConfig) -> dict[str, pd.Series]:
    out: dict[str, pd.Series] = {}
    for est in VOL_ESTIMATORS:
        var = variance_proxy(bars, est)
        for w in config.vol_windows:
            out[f"rv_{est}_{w}"] = np.sqrt(np.maximum(var.rolling(w, min_periods=w).mean(), 0.0))  # clip, 6x faster
    return out


def _wilder(series: pd.Series, window: int) -> pd.Series:
    return series.ewm(alpha=1.0 / window, adjust=False, min_periods=window).mean()


def atr(bars: pd.DataFrame, window: int = 14) -> pd.Series:
    """Wilder average true range divided by the close (a scale-free fraction)."""
    prev_close = bars["close"].shift(1)
    true_range = pd.concat(
        [bars["high"] - bars["low"], (bars["high"] - prev_close).abs(), (bars["low"] - prev_close).abs()],
        axis=1,
    ).max(axis=1)
    true_range.iloc[0] = bars["high"].iloc[0] - bars["low"].iloc[0]
    return _wilder(true_range, window) / bars["close"]


def rsi(close: pd.Series, window: int = 14) -> pd.Series:
    """Wilder relative strength index in [0, 100] (50 when there was no move at all)."""
    delta = close.diff()
    gain = _wilder(np.maximum(delta, 0.0), window)  # NaN stays NaN, as with Series.clip (which costs 6x more)
    loss = _wilder(np.maximum(-delta, 0.0), window)
    total = gain + loss
    value = 100.0 * gain / total.where(total > 0)
    return value.where(total.isna() | (total > 0), 50.0)


def macd(close: pd.Series, fast: int, slow: int, signal: int) -> dict[str, pd.Series]:
    """MACD line, signal and histogram, divided by the close (scale-free)."""
    line = close.ewm(span=fast, adjust=False, min_periods=slow).mean()
    line = (line - close.ewm(span=slow, adjust=False, min_periods=slow).mean()) / close
    sig = line.ewm(span=signal, adjust=False, min_periods=signal).mean()
    return {"macd": line, "macd_signal": sig, "macd_hist": line - sig}


def bollinger_pctb(close: pd.Series, window: int = 20, k: float = 2.0) -> pd.Series:
    """Bollinger %B: position of the close in the band (0 = lower, 1 = upper, 0.5 if flat)."""
    mean = close.rolling(window, min_periods=window).mean()
    std = close.rolling(window, min_periods=window).std(ddof=0)
    width = 2.0 * k * std
    pctb = (close - (mean - k * std)) / width.where(width > 0)
    return pctb.where(width.isna() | (width > 0), 0.5)


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
