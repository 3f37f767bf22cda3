"""The volatility target: realised volatility over the next ``horizon`` bars.

Definition (used by training, evaluation and serving alike): with close-to-close log returns
``r_t = ln(C_t / C_{t-1})``, the target at bar ``t`` is

    RV_t^(h) = sqrt( (1/h) * sum_{k=1..h} r_{t+k}^2 )

i.e. the root mean squared log return over bars ``t+1 .. t+h`` (not demeaned), in **per-bar
units** as a fraction (0.01 = 1% per bar; multiply by ``sqrt(bars_per_year)`` to annualise).
It is known at bar ``t + h``; the last ``h`` rows of a frame are NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def log_returns(bars: pd.DataFrame) -> pd.Series:
    """Close-to-close log returns (NaN on the first bar)."""
    return np.log(bars["close"].astype("float64")).diff().rename("log_ret")


def realised_vol_target(bars: pd.DataFrame, horizon: int = 5) -> pd.Series:
    """Forward realised volatility ``RV_t^(h)`` over bars ``t+1..t+h`` (per-bar units)."""
    sq = log_returns(bars) ** 2
    forward_mean = sq.rolling(horizon, min_periods=horizon).mean().shift(-horizon)
    return np.sqrt(forward_mean).rename(f"rv_fwd_{horizon}")


def trailing_realised_vol(bars: pd.DataFrame, horizon: int = 5) -> pd.Series:
    """Realised volatility over bars ``t-h+1..t`` (the "current level" for directional accuracy)."""
    sq = log_returns(bars) ** 2
    return np.sqrt(sq.rolling(horizon, min_periods=horizon).mean()).rename(f"rv_trail_{horizon}")


def annualise(vol: pd.Series | float, bars_per_year: float = 252.0) -> pd.Series | float:
    """Scale a per-bar volatility to annual units."""
    return vol * np.sqrt(bars_per_year)
