"""Volatility forecasts: request, answer, batch, history and accuracy (per-bar fractions; ``annualised``
scales by ``sqrt(bars per year)``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictBool, field_validator

from serving.schemas.common import (
    SYMBOL_PATTERN,
    TIMEFRAME_PATTERN,
    ApiDatetime,
    ModelRef,
    UtcDatetime,
    _not_in_future,
    _Strict,
)
from serving.schemas.inline import Bar, Explanation, _bounded_inline_bars, inline_bars_order


class VolatilityRequest(_Strict):
    """Forecast the realised volatility of the next ``horizon`` bars after ``as_of``."""

    symbol: str = Field(pattern=SYMBOL_PATTERN, examples=["SP500"])
    timeframe: str = Field(default="1d", pattern=TIMEFRAME_PATTERN)
    as_of: ApiDatetime | None = Field(default=None, description="Forecast origin bar (not after the server clock, "
                                                                "nor after the last inline bar); default: the "
                                                                "latest bar.")
    coverage: float = Field(default=0.9, gt=0.5, lt=1.0, description="Two-sided interval coverage.")
    bars: list[Bar] | None = Field(default=None, max_length=20_000,
                                   description="Bars to use instead of the stored ones (strictly increasing ts, "
                                               "none after the server clock). Forecasts from them are stored "
                                               "flagged caller-supplied, outside live accuracy and drift.")
    explain: StrictBool = False

    _origin = field_validator("as_of")(classmethod(lambda cls, value, info: _not_in_future(value, info)))
    _bars = field_validator("bars")(classmethod(lambda cls, value, info: inline_bars_order(value, info)))


class VolatilityResult(BaseModel):
    """One stored volatility forecast."""

    id: int | None = None
    symbol: str
    timeframe: str
    as_of: UtcDatetime
    horizon_bars: int
    horizon_minutes: int
    predicted: float = Field(description="Forecast realised vol over the horizon, per-bar units.")
    lower: float
    upper: float
    confidence: float = Field(description="Nominal coverage of [lower, upper] (split-conformal).")
    annualised: float
    model: ModelRef
    explanation: Explanation | None = None



class VolatilityBatchRequest(_Strict):
    """Up to ``max_batch`` forecasts in one call (one model version for all)."""

    requests: list[VolatilityRequest] = Field(min_length=1, max_length=1000)

    _inline_bars = field_validator("requests")(classmethod(lambda cls, value: _bounded_inline_bars(value)))


class VolatilityBatchResponse(BaseModel):
    model: ModelRef
    count: int
    predictions: list[VolatilityResult]


class VolatilityHistoryItem(BaseModel):
    id: int
    symbol: str
    timeframe: str
    as_of: UtcDatetime | None
    horizon: int = Field(description="Horizon in minutes (spec).")
    predicted: float
    actual: float | None
    lower: float | None
    upper: float | None
    confidence: float
    features: dict[str, Any] | None = None
    model: ModelRef
    created_at: UtcDatetime
    caller_supplied: bool = Field(default=False, description="Forecast from inline bars (outside accuracy/drift).")


class VolatilityHistory(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[VolatilityHistoryItem]


class AccuracyBlock(BaseModel):
    """Forecast accuracy on resolved predictions (actual = realised vol over the horizon)."""

    n: int
    mae: float | None = None
    rmse: float | None = None
    qlike: float | None = Field(default=None, description="Mean RV²/ŷ² − ln(RV²/ŷ²) − 1 (Patton 2011).")
    directional_accuracy: float | None = Field(default=None,
                                               description="Share of correct up/down calls vs the trailing RV.")
    interval_coverage: float | None = Field(default=None, description="Share of actuals inside [lower, upper].")
    mean_confidence: float | None = None


class VolatilityAccuracy(BaseModel):
    n_predictions: int
    n_resolved: int
    overall: AccuracyBlock
    by_symbol: dict[str, AccuracyBlock]
    by_model_version: dict[str, AccuracyBlock]

