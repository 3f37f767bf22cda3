"""Volatility-targeted position sizing and a small sizing backtest.

Volatility targeting (Moreira & Muir 2017; Harvey et al. 2018) scales exposure by
``target_vol / predicted_vol`` so the position's risk stays near a target; the forecast used at
bar ``t`` must be known at ``t`` and the position earns the return of bar ``t+1``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml import metrics

ArrayLike = float | np.ndarray | pd.Series


def position_size(
    base_size: ArrayLike, predicted_vol: ArrayLike, target_vol: ArrayLike, max_leverage: float = 2.0
) -> ArrayLike:
    """Volatility-targeted size ``base_size * min(target_vol / predicted_vol, max_leverage)``.

    Args:
        base_size: Size (or signed position) at unit leverage; scalar or array/Series.
        predicted_vol: Forecast volatility, same units as ``target_vol`` (e.g. per bar).
        target_vol: Volatility the position should run at (scalar, or per bar like ``predicted_vol``).
        max_leverage: Cap on the scaling factor.

    Returns:
        Sizes shaped like the broadcast of the inputs (a Series if an input is one). A missing or
        non-positive forecast gives a zero size (no forecast, no risk taken).
    """
    vol = predicted_vol.astype("float64") if isinstance(predicted_vol, pd.Series) else np.asarray(predicted_vol, float)
    target = np.asarray(target_vol, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(np.asarray(vol) > 0, target / np.asarray(vol), 0.0)
    scale = np.clip(np.nan_to_num(scale, nan=0.0, posinf=0.0), 0.0, max_leverage)
    if isinstance(predicted_vol, pd.Series):
        scale = pd.Series(scale, index=predicted_vol.index)
    out = base_size * scale
    return float(out) if np.ndim(out) == 0 else out


def max_drawdown(equity: pd.Series) -> float:
    """Largest peak-to-trough loss of an equity curve, as a positive fraction (missing values skipped)."""
    return metrics.max_drawdown(equity.dropna().to_numpy())


def sharpe_ratio(returns: pd.Series, periods_per_year: float = 252.0) -> float:
    """Annualised Sharpe ratio of per-bar returns (zero risk-free rate)."""
    std = returns.std()
    return float(returns.mean() / std * np.sqrt(periods_per_year)) if std > 0 else float("nan")


def performance(returns: pd.Series, periods_per_year: float = 252.0) -> dict[str, float]:
    """Total return, annualised Sharpe, max drawdown and annualised volatility of per-bar returns."""
    equity = (1.0 + returns.fillna(0.0)).cumprod()
    return {
        "total_return": float(equity.iloc[-1] - 1.0),
        "sharpe": sharpe_ratio(returns, periods_per_year),
        "max_drawdown": max_drawdown(equity),
        "ann_vol": float(returns.std() * np.sqrt(periods_per_year)),
    }


def sma_trend_signal(close: pd.Series, window: int = 200) -> pd.Series:
    """Long (1) when the close is above its ``window``-bar SMA, flat (0) otherwise (known at t)."""
    return (close > close.rolling(window, min_periods=window).mean()).astype("float64")


def rolling_target_vol(predicted_vol: pd.Series, window: int = 252, min_periods: int = 63) -> pd.Series:
    """Causal vol target: the median forecast over the last ``window`` bars (incl. ``t``).

    Targeting the recent typical level keeps the mean exposure near 1, so fixed and vol-targeted
    sizing are compared at about the same average risk (only its timing differs).
    """
    return predicted_vol.rolling(window, min_periods=min_periods).median()


@dataclass(frozen=True)
class SizingComparison:
    """Per-bar strategy returns of both sizings and their performance table."""

    returns: pd.DataFrame
    table: pd.DataFrame


def compare_sizing(
    close: pd.Series,
    predicted_vol: pd.Series,
    target_vol: float | pd.Series,
    signal: pd.Series | None = None,
    max_leverage: float = 2.0,
    periods_per_year: float = 252.0,
) -> SizingComparison:
    """Backtest fixed vs volatility-targeted sizing of the same strategy on the same bars.

    The position decided at bar ``t`` (signal and forecast known at ``t``) earns the simple
    return of bar ``t+1``. Only bars with a forecast are traded by either sizing.

    Args:
        close: Close prices.
        predicted_vol: Volatility forecast at each bar (per-bar units), e.g. out-of-sample.
        target_vol: Per-bar volatility to target: a number chosen from training data only, or a
            causal per-bar series such as :func:`rolling_target_vol`.
        signal: Position in [-1, 1] at unit size (None = always long).
        max_leverage: Cap on the vol-targeting scale.
        periods_per_year: Bars per year for the Sharpe ratio.

    Returns:
        A :class:`SizingComparison` with rows ``fixed`` and ``vol_target``.
    """
    vol = predicted_vol.reindex(close.index)
    if isinstance(target_vol, pd.Series):
        target_vol = target_vol.reindex(close.index)
        vol = vol.where(target_vol.notna())
    base = pd.Series(1.0, index=close.index) if signal is None else signal.reindex(close.index).fillna(0.0)
    next_ret = close.pct_change().shift(-1)
    live = vol.notna() & next_ret.notna()
    positions = {"fixed": base, "vol_target": position_size(base, vol, target_vol, max_leverage)}
    rets = pd.DataFrame({k: (p * next_ret)[live] for k, p in positions.items()})
    table = pd.DataFrame({k: performance(rets[k], periods_per_year) for k in rets}).T
    table["mean_exposure"] = [float(positions[k][live].abs().mean()) for k in rets]
    return SizingComparison(rets, table)
