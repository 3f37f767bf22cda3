"""Signal scoring (meta-labelling): the trade plan, request, answer, batch, history and statistics."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool, field_validator, model_validator

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


class TradePlan(_Strict):
    """Where the trade's stop and target are: prices, or multiples of the signal bar's volatility (the EWM
    standard deviation of close-to-close returns); each leg defaults to the training barriers (1.5)."""

    stop_loss: float | None = Field(default=None, gt=0, le=1e12, allow_inf_nan=False, description="Stop price.")
    take_profit: float | None = Field(default=None, gt=0, le=1e12, allow_inf_nan=False, description="Target price.")
    stop_multiple: float | None = Field(default=None, gt=0, le=50, allow_inf_nan=False)
    take_multiple: float | None = Field(default=None, gt=0, le=50, allow_inf_nan=False)
    horizon_bars: int | None = Field(default=None, ge=1, le=1000, description="Longest holding, in bars.")

    @model_validator(mode="after")
    def _one_per_leg(self) -> TradePlan:
        if self.stop_loss is not None and self.stop_multiple is not None:
            raise ValueError("give stop_loss or stop_multiple, not both")
        if self.take_profit is not None and self.take_multiple is not None:
            raise ValueError("give take_profit or take_multiple, not both")
        return self


#: Names of strategy-supplied features (``SignalRequest.features``).
CALLER_FEATURE_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"


class SignalRequest(_Strict):
    """A strategy's signal to score (meta-labelling: P(acting on it pays)). Any strategy name: the built-in ones
    (``ml.strategies``) are scored with their indicator set, any other generically (market context, trade plan
    and the outcomes of its own past signals)."""

    symbol: str = Field(pattern=SYMBOL_PATTERN, examples=["SP500"])
    timeframe: str = Field(default="1d", pattern=TIMEFRAME_PATTERN)
    strategy: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$", examples=["sma_crossover"])
    side: Literal["BUY", "SELL"]
    ts: ApiDatetime | None = Field(default=None, description="Signal bar (fires at its close; not after the server "
                                                             "clock, nor after the last inline bar); default: "
                                                             "latest bar.")
    strength: float = Field(default=1.0, ge=0)
    bars: list[Bar] | None = Field(default=None, max_length=20_000,
                                   description="Bars to use instead of the stored ones (strictly increasing ts, "
                                               "none after the server clock). Scores from them are stored "
                                               "flagged caller-supplied, outside live accuracy and drift.")
    plan: TradePlan | None = None
    confidence: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False,
                                     description="The strategy's own confidence in the signal (0..1).")
    features: dict[Annotated[str, Field(pattern=CALLER_FEATURE_PATTERN)],
                   Annotated[float, Field(ge=-1e9, le=1e9, allow_inf_nan=False)]] | None = Field(
        default=None, max_length=8,
        description="Up to 8 numbers of the strategy's own (lower-case names), e.g. its signal's z-score. Stored "
                    "with the score (with `confidence`); a scorer retrained on enough reported outcomes that carry "
                    "one uses it (`caller_features_used` says which).")
    explain: StrictBool = False

    _origin = field_validator("ts")(classmethod(lambda cls, value, info: _not_in_future(value, info)))
    _bars = field_validator("bars")(classmethod(lambda cls, value, info: inline_bars_order(value, info)))

    @field_validator("side", mode="before")
    @classmethod
    def _side(cls, value: Any) -> Any:
        mapping = {1: "BUY", -1: "SELL", "1": "BUY", "-1": "SELL", "+1": "BUY"}
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value in (1, -1):
            return mapping[int(value)]
        if isinstance(value, str):
            return mapping.get(value, value.upper())
        return value


class SignalResult(BaseModel):
    id: int | None = Field(default=None, description="The stored score's id: report its outcome with it.")
    symbol: str
    timeframe: str
    strategy: str
    side: str
    ts: UtcDatetime
    score: float = Field(description="Calibrated P(success) in [0, 1].")
    confidence: float
    prediction: str = Field(description="BUY/SELL when score >= threshold, else HOLD.")
    threshold: float | None = None
    model: ModelRef
    win_rate: float | None = Field(default=None, description="The historical win rate of similar signals (same "
                                   "strategy and side) the score used, from outcomes resolved before the signal.")
    win_rate_n: float | None = Field(default=None, description="How many resolved outcomes that win rate rests on.")
    risk_reward: float | None = Field(default=None, description="The take-profit / stop-loss distance ratio used.")
    feature_set: Literal["strategy", "generic"] = Field(
        default="strategy", description="strategy: a built-in's indicator features; generic: any other strategy.")
    caller_features_used: list[str] = Field(
        default_factory=list, description="The given `confidence` / `features` this scorer version uses (the "
                                          "others are stored for retraining).")
    explanation: Explanation | None = None


class SignalBatchRequest(_Strict):
    signals: list[SignalRequest] = Field(min_length=1, max_length=1000)

    _inline_bars = field_validator("signals")(classmethod(lambda cls, value: _bounded_inline_bars(value)))


class SignalBatchResponse(BaseModel):
    model: ModelRef
    count: int
    scores: list[SignalResult]


class SignalHistoryItem(BaseModel):
    id: int
    symbol: str
    timeframe: str
    strategy: str
    side: str | None
    ts: UtcDatetime | None
    score: float
    confidence: float
    prediction: str | None
    features: dict[str, Any] | None = None
    model: ModelRef
    created_at: UtcDatetime
    caller_supplied: bool = Field(default=False, description="Scored on inline bars (outside accuracy/drift).")


class SignalHistory(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[SignalHistoryItem]


class StrategyStats(BaseModel):
    count: int
    mean_score: float
    take_rate: float = Field(description="Share of signals predicted BUY/SELL (not HOLD).")


class SignalStats(BaseModel):
    count: int
    mean_score: float | None
    mean_confidence: float | None
    score_histogram: dict[str, int] = Field(description="Counts per 0.1-wide score bin.")
    predictions: dict[str, int]
    by_strategy: dict[str, StrategyStats]
    model_versions: dict[str, int]

