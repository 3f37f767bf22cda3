"""The volatility context of a series' bars: the production volatility model's forecast vs what was realised.

The issue-19 "volatility context" of the signal scorer. The forecasts come from a causal walk-forward of the
pipeline's production volatility model (:data:`ml.volatility.registry.DEFAULT_MODEL`): the model is refitted
every ``refit_every`` bars, each time on every bar before the origin minus a purge of the horizon
(:func:`ml.volatility.evaluation.walk_forward_forecasts`, the same walk-forward as the scorecard's sizing). Each
forecast made at bar ``t`` uses only bars up to ``t``. Realised volatility is the volatility target's own
definition (:func:`ml.volatility.targets.trailing_realised_vol`: the RMS log return over bars ``t-h+1..t``).

* ``x_vol_surprise``: ``ln(RV over bars t-h+1..t / the forecast of it made at bar t-h)``. This is the log
  residual the conformal intervals are built from (:mod:`ml.volatility.base`), read as soon as it resolves.
  Positive means the market has been rougher than the model expected.
* ``x_vol_regime``: ``ln(forecast made at t / the expanding median of the realised vol up to t)``. Positive
  means the model expects a more turbulent period than usual for this series.

Bars before the first forecast (the first ``train_bars``, plus ``h`` for the surprise) are NaN. The scorer
treats them as missing. Pure: pandas/numpy and ``ml.volatility`` only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.volatility.base import VOL_FLOOR
from ml.volatility.evaluation import forecasts_after
from ml.volatility.registry import DEFAULT_MODEL, make_model
from ml.volatility.targets import trailing_realised_vol

#: The volatility-context columns (in order) :func:`vol_context` computes for every bar.
VOL_CONTEXT_COLUMNS = ("x_vol_surprise", "x_vol_regime")


@dataclass(frozen=True)
class VolContextConfig:
    """The walk-forward of the volatility context.

    Attributes:
        model: Volatility model name (:func:`ml.volatility.registry.make_model`), the production one by default.
        horizon: Forecast horizon in bars (also the realised window and the purge before each origin).
        refit_every: Bars between refits (the scorecard's selection walk-forward refits every 63 bars too).
        train_bars: Bars of the first training window (two years of daily bars); the first forecast is at this
            bar. The origins are ``train_bars + k * refit_every`` whatever the series' length, so
            appending bars never changes an earlier forecast.
    """

    model: str = DEFAULT_MODEL
    horizon: int = 5
    refit_every: int = 63
    train_bars: int = 504


def walk_forward_vol(bars: pd.DataFrame, config: VolContextConfig = VolContextConfig()) -> pd.Series:
    """Out-of-sample forecast made at every bar after the first ``config.train_bars`` (NaN before).

    Args:
        bars: One series' bars (``ts`` index, OHLC).
        config: Model, horizon, refit spacing and first training window.

    Returns:
        A float Series indexed like ``bars`` named ``vol_forecast``: the forecast, made at bar ``t``, of the
        realised volatility over bars ``t+1..t+h`` (per-bar units).
    """
    n = len(bars)
    if n <= config.train_bars:
        return pd.Series(np.nan, index=bars.index, dtype="float64", name="vol_forecast")
    model = make_model(config.model, horizon=config.horizon)
    return forecasts_after(bars, model, config.train_bars, config.horizon, config.refit_every).rename("vol_forecast")


def vol_context_columns(bars: pd.DataFrame, forecast: pd.Series, horizon: int) -> pd.DataFrame:
    """The :data:`VOL_CONTEXT_COLUMNS` of ``bars`` from ``forecast``, the forecast made at each bar.

    Args:
        bars: One series' bars (``close`` is read).
        forecast: Forecast made at each bar of the realised vol over the next ``horizon`` bars, indexed like
            ``bars`` (NaN where there is none).
        horizon: Forecast horizon in bars.

    Returns:
        A float frame indexed like ``bars``. Both volatilities are floored at ``VOL_FLOOR`` before the
        logarithm, as the conformal residuals are.
    """
    realised = trailing_realised_vol(bars, horizon)
    fc = forecast.reindex(bars.index).astype("float64")
    floor = realised.clip(lower=VOL_FLOOR)
    frame = pd.DataFrame(index=bars.index)
    frame["x_vol_surprise"] = np.log(floor) - np.log(fc.shift(horizon).clip(lower=VOL_FLOOR))
    median = realised.expanding(min_periods=1).median().clip(lower=VOL_FLOOR)
    frame["x_vol_regime"] = np.log(fc.clip(lower=VOL_FLOOR)) - np.log(median)
    return frame.astype("float64")


def vol_context(bars: pd.DataFrame, config: VolContextConfig = VolContextConfig()) -> pd.DataFrame:
    """The volatility context of every bar of ``bars``: :func:`vol_context_columns` of :func:`walk_forward_vol`.

    Causal: row ``t`` depends on bars up to ``t`` only, so a window's context serves every prefix of it.
    """
    return vol_context_columns(bars, walk_forward_vol(bars, config), config.horizon)
