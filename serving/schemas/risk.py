"""Risk: position sizing at a target volatility, stop/target levels and the volatility regime."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from serving.schemas.common import SYMBOL_PATTERN, TIMEFRAME_PATTERN, ApiDatetime, _not_in_future, _Strict
from serving.schemas.volatility import VolatilityResult


class _SeriesAt(_Strict):
    """A series and the forecast origin a risk decision is taken at."""

    symbol: str = Field(pattern=SYMBOL_PATTERN, examples=["SP500"])
    timeframe: str = Field(default="1d", pattern=TIMEFRAME_PATTERN)
    as_of: ApiDatetime | None = Field(default=None, description="Forecast origin bar; default: the latest bar.")
    price: float | None = Field(default=None, gt=0, le=1e12, allow_inf_nan=False,
                                description="Entry price; default: the close of the forecast's bar.")

    _origin = field_validator("as_of")(classmethod(lambda cls, value, info: _not_in_future(value, info)))


class PositionSizeRequest(_SeriesAt):
    """Size a position so that it runs at a target volatility, from the champion's forecast."""

    equity: float = Field(gt=0, le=1e15, allow_inf_nan=False, description="Capital the position is sized on.")
    target_volatility: float = Field(gt=0, le=5, allow_inf_nan=False,
                                     description="Annualised volatility the position should run at (0.10 = 10%).")
    max_leverage: float = Field(default=2.0, gt=0, le=100, allow_inf_nan=False)
    coverage: float = Field(default=0.9, gt=0.5, lt=1.0, allow_inf_nan=False)


class PositionSizeResult(BaseModel):
    symbol: str
    timeframe: str
    price: float
    units: float
    notional: float
    leverage: float = Field(description="notional / equity: min(target / forecast, max_leverage).")
    capped: bool = Field(description="True when max_leverage bound the size.")
    leverage_at_upper: float = Field(description="The leverage were volatility at the interval's upper bound.")
    target_volatility: float
    forecast: VolatilityResult = Field(description="The stored forecast the size is based on.")


class StopsRequest(_SeriesAt):
    """Stop-loss and take-profit levels a multiple of the forecast volatility away from the entry."""

    side: Literal["BUY", "SELL"]
    horizon_bars: int | None = Field(default=None, ge=1, le=1000,
                                     description="Holding horizon; default: the forecast's horizon.")
    stop_multiple: float = Field(default=2.0, gt=0, le=50, allow_inf_nan=False)
    take_multiple: float = Field(default=3.0, gt=0, le=50, allow_inf_nan=False)


class StopsResult(BaseModel):
    symbol: str
    timeframe: str
    side: str
    price: float
    horizon_bars: int
    stop_loss: float
    take_profit: float
    move: float = Field(description="Forecast one-sd log move over the horizon (per-bar vol * sqrt(horizon)).")
    risk_reward: float = Field(description="|take_profit - price| / |price - stop_loss|.")
    forecast: VolatilityResult


class RegimeRequest(_Strict):
    """The current volatility regime of a series against its own forecast history."""

    symbol: str = Field(pattern=SYMBOL_PATTERN, examples=["SP500"])
    timeframe: str = Field(default="1d", pattern=TIMEFRAME_PATTERN)
    lookback: int = Field(default=252, ge=20, le=5000, description="Past bars whose forecasts form the history.")
    low_quantile: float = Field(default=1 / 3, gt=0, lt=1, allow_inf_nan=False)
    high_quantile: float = Field(default=2 / 3, gt=0, lt=1, allow_inf_nan=False)

    @model_validator(mode="after")
    def _ordered(self) -> RegimeRequest:
        if self.low_quantile >= self.high_quantile:
            raise ValueError("low_quantile must be below high_quantile")
        return self


class RegimeResult(BaseModel):
    symbol: str
    timeframe: str
    regime: Literal["low", "normal", "high"]
    current: float = Field(description="The latest forecast (per-bar units).")
    low_threshold: float
    high_threshold: float
    percentile: float = Field(description="Share of the history at or below the current forecast.")
    n_history: int
    forecast: VolatilityResult

