"""Scale-free technical indicators: Wilder ATR and RSI, MACD, Bollinger %B."""

from __future__ import annotations

import numpy as np
import pandas as pd


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
