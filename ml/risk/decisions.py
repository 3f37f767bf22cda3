"""One decision at a time (the ``/ml/risk`` API): a vol-targeted position, volatility stops, the vol regime."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.risk.sizing import position_size


@dataclass(frozen=True)
class PositionPlan:
    """A volatility-targeted position for one instrument."""

    units: float
    notional: float
    leverage: float  # notional / equity
    capped: bool  # the leverage cap bound


def size_position(equity: float, price: float, predicted_vol: float, target_vol: float,
                  max_leverage: float = 2.0) -> PositionPlan:
    """The position that runs at ``target_vol`` given the forecast: ``equity * min(target / forecast, cap)``.

    ``predicted_vol`` and ``target_vol`` are in the same units (both annualised, or both per bar); a missing or
    non-positive forecast sizes zero (:func:`position_size`).
    """
    if equity <= 0 or price <= 0:
        raise ValueError("equity and price must be positive")
    leverage = float(position_size(1.0, predicted_vol, target_vol, max_leverage))
    notional = equity * leverage
    capped = predicted_vol > 0 and target_vol / predicted_vol > max_leverage
    return PositionPlan(units=notional / price, notional=notional, leverage=leverage, capped=bool(capped))


@dataclass(frozen=True)
class StopLevels:
    """Stop-loss and take-profit prices a multiple of the forecast move away from the entry."""

    stop_loss: float
    take_profit: float
    move: float  # expected one-sd log move over the horizon: per-bar vol * sqrt(horizon)
    risk_reward: float  # |take - price| / |price - stop|


def volatility_stops(price: float, side: int, vol_per_bar: float, horizon_bars: int, stop_multiple: float = 2.0,
                     take_multiple: float = 3.0) -> StopLevels:
    """Volatility-scaled levels for a long (``side`` +1) or short (-1) entry at ``price``.

    The barrier distances of the signal scorer's triple-barrier labels, as prices: a long's stop is
    ``price * exp(-stop_multiple * move)`` and its target ``price * exp(take_multiple * move)``, mirrored for a short.
    """
    if price <= 0 or vol_per_bar <= 0 or horizon_bars < 1 or stop_multiple <= 0 or take_multiple <= 0:
        raise ValueError("price, volatility, horizon and multiples must be positive")
    if side not in (1, -1):
        raise ValueError("side must be +1 (long) or -1 (short)")
    move = vol_per_bar * float(np.sqrt(horizon_bars))
    stop = price * float(np.exp(-side * stop_multiple * move))
    take = price * float(np.exp(side * take_multiple * move))
    return StopLevels(stop_loss=stop, take_profit=take, move=move,
                      risk_reward=abs(take - price) / abs(price - stop))


@dataclass(frozen=True)
class VolatilityRegime:
    """Where the current forecast sits in the series' own forecast history."""

    regime: str  # "low", "normal" or "high"
    current: float
    low_threshold: float
    high_threshold: float
    percentile: float  # share of the history at or below the current forecast
    n_history: int


def volatility_regime(current: float, history: np.ndarray | pd.Series, low_quantile: float = 1 / 3,
                      high_quantile: float = 2 / 3) -> VolatilityRegime:
    """``low`` below the ``low_quantile`` of the history, ``high`` above the ``high_quantile``, else ``normal``."""
    values = np.asarray(history, dtype="float64")
    values = values[np.isfinite(values)]
    if len(values) < 20:
        raise ValueError(f"need at least 20 past forecasts to place the current one, have {len(values)}")
    if not 0 < low_quantile < high_quantile < 1:
        raise ValueError("need 0 < low_quantile < high_quantile < 1")
    low, high = (float(q) for q in np.quantile(values, [low_quantile, high_quantile]))
    regime = "low" if current < low else "high" if current > high else "normal"
    return VolatilityRegime(regime=regime, current=float(current), low_threshold=low, high_threshold=high,
                            percentile=float(np.mean(values <= current)), n_history=len(values))
