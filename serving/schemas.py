"""Every request and response model of the ``/ml`` API (pydantic v2), in one module.

Volatilities are per-bar fractions (0.01 = 1% per bar) like everywhere in ``ml``; ``annualised``
fields scale them by ``sqrt(bars per year)``. Times are naive UTC in Python; on the wire a request's datetime
may carry an offset (naive = UTC) and every response datetime is RFC 3339 UTC (``...Z``, :data:`UtcDatetime`).

Hostile input (issue 18) is refused with 422 naming the field: numbers must be finite (``Infinity``, ``NaN``,
``1e400`` are not; ``allow_inf_nan=False``), datetimes are ISO 8601 strings (a number such as ``0.5`` is not a
datetime, :data:`ApiDatetime`), booleans are ``true``/``false`` (not ``0``/``"yes"``), a forecast origin or
signal bar may not be after the server clock, and inline bars are strictly increasing, not after the server
clock (:func:`inline_bars_order`) and pass the raw-bar contract of ingestion (run once per request by
:func:`serving.inference.contract_inline`). The push API's
bars (:class:`PushBar`) are the exception: a bad cell there quarantines its row, it does not refuse the request.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

SYMBOL_PATTERN = r"^[A-Za-z0-9._^=/\-]{1,32}$"
TIMEFRAME_PATTERN = r"^[1-9][0-9]{0,3}(m|h|d|w)$"
_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def timeframe_minutes(timeframe: str) -> int:
    """Minutes in one bar of ``timeframe`` (``"1d"`` -> 1440)."""
    m = re.fullmatch(TIMEFRAME_PATTERN, timeframe)
    if m is None:
        raise ValueError(f"bad timeframe {timeframe!r}")
    return int(timeframe[:-1]) * _MINUTES[timeframe[-1]]


def server_now() -> datetime:
    """The server clock, naive UTC (the time no bar or origin may be after)."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(ts: datetime) -> datetime:
    """``ts`` as naive UTC (an aware time is converted, a naive one is UTC already)."""
    return ts if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)


def _iso_text(value: Any) -> Any:
    if isinstance(value, (bool, int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise PydanticCustomError("datetime_type", "Input should be an ISO 8601 datetime string, not a number")
    return value


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
#: A datetime given as ISO 8601 text (pydantic's lax mode would read a number, or a number as text as in a query
#: string, as Unix seconds).
ApiDatetime = Annotated[datetime, BeforeValidator(_iso_text)]


def _utc_aware(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


#: A response datetime: naive UTC in Python (a client reading ``...Z`` gets naive UTC back, like the server's own
#: values), RFC 3339 with the UTC designator in JSON (``2018-01-02T00:00:00Z``), as ``format: date-time`` says.
UtcDatetime = Annotated[datetime, AfterValidator(naive_utc),
                        PlainSerializer(_utc_aware, return_type=datetime, when_used="json")]


#: A datetime filter of a GET route (``start``/``end``): ISO 8601 text, as naive UTC (an offset is converted).
QueryDatetime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(naive_utc)]

def _not_in_future(value: datetime | None, info: ValidationInfo) -> datetime | None:
    if value is not None and naive_utc(value) > server_now():
        raise ValueError(f"{value.isoformat()} is in the future of the server clock ({server_now():%Y-%m-%dT%H:%M:%S}Z)")
    return value


def _has_nul(value: Any) -> bool:
    """A NUL in a text value or in a list of them (a nested model checks its own fields, naming them)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, str) and "\x00" in v for v in value)
    return False


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """No text of a request carries a NUL character: no text column takes one (PostgreSQL refuses it)."""
        if _has_nul(value):
            raise ValueError("contains a NUL character")
        return value


class ModelRef(BaseModel):
    """The registered model version that produced a result."""

    name: str
    version: str


class Bar(_Strict):
    """One OHLCV bar given inline (instead of the stored bars)."""

    ts: ApiDatetime
    open: float = Field(gt=0)
    high: float = Field(gt=0)
    low: float = Field(gt=0)
    close: float = Field(gt=0)
    volume: float = Field(ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> Bar:
        if self.high < max(self.open, self.close) or self.low > min(self.open, self.close) or self.high < self.low:
            raise ValueError("inconsistent bar: need low <= open, close <= high")
        return self


class FeatureContribution(BaseModel):
    """One feature's value and its contribution to the model output."""

    feature: str
    value: float | None
    contribution: float


class Explanation(BaseModel):
    """Top feature contributions (TreeSHAP ``pred_contribs`` of an XGBoost booster), or why there are none."""

    method: str | None = None
    units: str | None = None
    contributions: list[FeatureContribution] = Field(default_factory=list)
    note: str | None = None


_SHOWN_BAD_BARS = 5


def inline_bars_order(bars: list[Bar] | None, info: ValidationInfo) -> list[Bar] | None:
    """Inline bars strictly increasing and none after the server clock (cheap, per request item; the raw-bar
    contract of ingestion then runs once per request on all of them, :func:`serving.inference.contract_inline`).

    Raises:
        ValueError: naming the first offending bars (``bars[i]: <reason>``).
    """
    if not bars:
        return bars
    stamps = [naive_utc(b.ts) for b in bars]
    now = server_now()
    problems = [f"bars[{i}]: ts {stamps[i].isoformat()} is not after bars[{i - 1}] ({stamps[i - 1].isoformat()}): "
                f"bars must be strictly increasing, oldest first" for i in range(1, len(bars))
                if stamps[i] <= stamps[i - 1]]
    problems += [f"bars[{i}]: ts: in the future ({t.isoformat()} > clock {now:%Y-%m-%dT%H:%M:%S})"
                 for i, t in enumerate(stamps) if t > now]
    if problems:
        more = f" (and {len(problems) - _SHOWN_BAD_BARS} more)" if len(problems) > _SHOWN_BAD_BARS else ""
        raise ValueError("; ".join(problems[:_SHOWN_BAD_BARS]) + more)
    return bars


# ------------------------------------------------------------------------------------ volatility


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


MAX_INLINE_BARS_PER_BATCH = 50_000


def _bounded_inline_bars(items: list[Any]) -> list[Any]:
    """A batch's items, unless together they carry more than ``MAX_INLINE_BARS_PER_BATCH`` inline bars."""
    if sum(len(item.bars or []) for item in items) > MAX_INLINE_BARS_PER_BATCH:
        raise ValueError(f"at most {MAX_INLINE_BARS_PER_BATCH} inline bars per batch")
    return items


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


# ------------------------------------------------------------------------------------ signals


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


# ------------------------------------------------------------------------------------ models


class RegisteredVersion(BaseModel):
    version: str
    aliases: list[str]
    run_id: str | None
    created_at: UtcDatetime | None
    tags: dict[str, str]
    description: str | None


class ModelInfo(BaseModel):
    name: str
    kind: str
    serving: ModelRef | None = Field(description="The version this server answers with (None: no champion).")
    versions: list[RegisteredVersion]


class ModelList(BaseModel):
    models: list[ModelInfo]


class TrainRequest(_Strict):
    model_type: Literal["VOLATILITY", "SIGNAL_QUALITY"]
    symbols: list[Annotated[str, Field(pattern=SYMBOL_PATTERN)]] | None = Field(default=None, max_length=100)
    horizon: int = Field(default=5, ge=1, le=66, description="Volatility horizon in bars.")

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: list[str] | None) -> list[str] | None:
        for s in value or []:
            if not re.fullmatch(SYMBOL_PATTERN, s):
                raise ValueError(f"bad symbol {s!r}")
        return value


class JobStatus(BaseModel):
    job_id: int
    model_type: str
    status: str = Field(description="TRAINING, COMPLETED or FAILED.")
    model_version: str | None = None
    mlflow_run_id: str | None = None
    performance: dict[str, Any] = Field(default_factory=dict)
    training_data: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    started_at: UtcDatetime
    completed_at: UtcDatetime | None = None


class ReloadResult(BaseModel):
    models: dict[str, ModelRef | None]
    changed: list[str]


class ModelPerformance(BaseModel):
    name: str
    serving: ModelRef | None
    registry_metrics: dict[str, float] = Field(description="Metrics of the serving version's MLflow run.")
    live: dict[str, Any] = Field(description="Metrics from the stored predictions (all users).")
    recent_trainings: list[JobStatus]


class PerformanceReport(BaseModel):
    models: list[ModelPerformance]


class ErrorResponse(BaseModel):
    """Every error answer: ``error`` says what is wrong; a 422 names the failing fields."""

    error: str
    fields: list[str] | None = Field(default=None, description="422: the failing fields (dotted paths).")
    detail: Any = None


# ------------------------------------------------------------------------------------ approvals (MLflow webhook)


class MLflowWebhook(BaseModel):
    """What MLflow's registry webhook sends (``POST /ml/models/webhook``); the service reads alias events."""

    entity: str = Field(description="`model_version_alias` for alias changes (other entities are ignored).")
    action: str = Field(description="`created` or `deleted`.")
    timestamp: str = Field(description="When MLflow sent it (ISO 8601).")
    data: dict[str, Any] = Field(description="`name`, `alias` and (when created) `version`.")


class ApprovalResult(BaseModel):
    """What the service did with one webhook delivery."""

    handled: bool = Field(description="False for an event of another kind or model (nothing recorded).")
    model: str | None = None
    alias: str | None = None
    action: str | None = Field(default=None, description="`created` (alias set) or `deleted`.")
    version: str | None = Field(default=None, description="The version the alias now points at (or pointed at).")
    previous: str | None = Field(default=None, description="The version that held the alias before.")
    approver: str | None = Field(default=None, description="The MLflow login that made the change (None: "
                                                           "not recorded by the server's login app).")
    serving: ModelRef | None = Field(default=None, description="The version the service answers with now.")
    duplicate: bool = Field(default=False, description="This delivery id was handled before: nothing written.")



# ------------------------------------------------------------------------------------ strategy tuning


def _strategy_names(schema: dict[str, Any]) -> None:
    """The document's ``enum`` of the strategy names (imported when the schema is built, not with this module)."""
    from ml.strategies import STRATEGIES

    schema["enum"] = sorted(STRATEGIES)


def _method_names(schema: dict[str, Any]) -> None:
    from ml.tuner import METHODS

    schema["enum"] = sorted(m.upper() for m in METHODS)


class TuneRequest(_Strict):
    """Walk-forward tune a strategy's parameters on a stored series (``flows.tune.tune_strategy``)."""

    strategy: str = Field(min_length=1, max_length=64, examples=["sma_crossover"],
                          description="A key of ml.strategies.STRATEGIES.", json_schema_extra=_strategy_names)
    symbol: str = Field(pattern=SYMBOL_PATTERN, examples=["GOOG"])
    timeframe: str = Field(default="1d", pattern=TIMEFRAME_PATTERN)
    method: str = Field(default="OPTUNA", min_length=1, max_length=32, json_schema_extra=_method_names,
                        description="A key of ml.tuner.METHODS (case-insensitive: the document lists them upper-case).")
    budget: int = Field(default=60, ge=10, le=500, description="Distinct backtests per walk-forward window.")
    n_windows: int = Field(default=4, ge=2, le=8, description="Walk-forward windows.")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)

    @field_validator("strategy")
    @classmethod
    def _strategy(cls, value: str) -> str:
        from ml.strategies import STRATEGIES

        if value not in STRATEGIES:
            raise ValueError(f"unknown strategy {value!r}; choose from {sorted(STRATEGIES)}")
        return value

    @field_validator("method")
    @classmethod
    def _method(cls, value: str) -> str:
        from ml.tuner import METHODS  # imported on first use (optuna and the agents are not light)

        if value.strip().lower() not in METHODS:
            raise ValueError(f"unknown method {value!r}; choose from {sorted(m.upper() for m in METHODS)}")
        return value.strip().upper()


class TuneJob(BaseModel):
    """A tuning job as queued (the ``StrategyOptimization`` row)."""

    job_id: int
    status: str = Field(description="PENDING, RUNNING, COMPLETED or FAILED.")
    strategy: str
    symbol: str | None
    timeframe: str | None
    method: str
    budget: int | None = None
    n_windows: int | None = None
    seed: int | None = None
    created_at: UtcDatetime


class TuneStatus(BaseModel):
    job_id: int
    status: str = Field(description="PENDING, RUNNING, COMPLETED or FAILED.")
    strategy: str
    symbol: str | None
    timeframe: str | None
    method: str
    error: str | None = None
    request: dict[str, Any] = Field(default_factory=dict, description="budget, n_windows, seed, ...")
    created_at: UtcDatetime
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None


class TuneResults(BaseModel):
    """Walk-forward result of a COMPLETED tuning job."""

    job_id: int
    status: str
    strategy: str
    symbol: str | None
    timeframe: str | None
    method: str
    recommended: bool = Field(description="Tuned parameters beat the defaults out of sample, safely.")
    applied: bool = Field(description="These are the active parameters of (strategy, symbol, timeframe).")
    original_params: dict[str, Any]
    optimized_params: dict[str, Any]
    before: dict[str, Any] = Field(description="Default parameters: mean in-/out-of-sample Sharpe, OOS return, "
                                               "worst OOS drawdown, trades.")
    after: dict[str, Any] = Field(description="Tuned parameters: the same aggregates.")
    oos_improvement: float | None = Field(default=None, description="Mean tuned - mean default OOS Sharpe.")
    deflated_sharpe: float | None = None
    pbo: float | None = Field(default=None, description="Probability of backtest overfitting (CSCV).")
    windows: list[dict[str, Any]] = Field(description="Per walk-forward window: bounds, tuned params, in-/out-of-"
                                                      "sample metrics of default and tuned, DSR, PBO.")
    mlflow_run_id: str | None = None
    request: dict[str, Any] = Field(default_factory=dict)
    started_at: UtcDatetime | None = None
    finished_at: UtcDatetime | None = None


class TuneApplyRequest(_Strict):
    job_id: int = Field(ge=1, le=2**31 - 1)
    force: StrictBool = Field(default=False, description="Apply a result that is not recommended.")


class TuneApplyResult(BaseModel):
    """The parameters now active for (strategy, symbol, timeframe)."""

    job_id: int
    strategy: str
    symbol: str | None
    timeframe: str | None
    params: dict[str, Any]
    recommended: bool
    forced: bool
    applied_by: str
    applied_at: UtcDatetime | None = None


# ------------------------------------------------------------------------------------ pushed bars

MAX_PUSH_BARS = 10_000
_Cell = StrictInt | StrictFloat | Annotated[StrictStr, Field(max_length=64)] | None
_Text = Annotated[StrictStr, Field(max_length=64)] | None


class PushBar(_Strict):
    """One raw bar as a feed sends it: each cell a number, a string or null; the raw-bar contract of file
    ingestion decides (an invalid row is quarantined with its reason, not refused: a non-finite number as
    ``<column>: not finite``, a bar after the server clock as ``ts: in the future``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=True)  # the contract quarantines them, per row

    symbol: _Text = None
    timeframe: _Text = None
    ts: _Text = Field(default=None, description="ISO 8601 timestamp (naive = UTC).")
    open: _Cell = None
    high: _Cell = None
    low: _Cell = None
    close: _Cell = None
    volume: _Cell = None


class BarsPushRequest(_Strict):
    """Up to 10,000 bars of any symbols and timeframes."""

    bars: list[PushBar] = Field(min_length=1, max_length=MAX_PUSH_BARS)
    source: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9._:\-]*$",
                               description="Optional label of the feed, stored as push:<user>:<source>.")


class RejectedBar(BaseModel):
    """A pushed bar that failed the contract (quarantined): its position in the request and why."""

    index: int
    reason: str
    symbol: str | None = None
    timeframe: str | None = None
    ts: str | None = None


class PushedSeries(BaseModel):
    """What one (symbol, timeframe) of the push stored."""

    symbol: str
    timeframe: str
    first_ts: str | None = None
    last_ts: str | None = None
    received: int
    inserted: int
    merged: int
    quarantined: int


class BarsPushResult(BaseModel):
    """Counts of the push (received = inserted + merged + quarantined), per series, and the event emitted."""

    source: str
    received: int
    inserted: int
    merged: int
    quarantined: int
    series: list[PushedSeries]
    rejected: list[RejectedBar]
    event_id: str | None = None


# ------------------------------------------------------------------------------------ risk (position sizing)


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


# ------------------------------------------------------------------------------------ trade outcomes


class SignalOutcomeRequest(_Strict):
    """What happened to a scored signal, reported by the platform (it replaces the triple-barrier outcome)."""

    signal_id: int = Field(ge=1, le=2**31 - 1, description="The ``id`` of the /ml/signal/score answer.")
    filled: bool = Field(strict=True, description="Whether the trade was executed (false: no outcome is counted).")
    exit_ts: ApiDatetime | None = Field(default=None, description="When the position was closed (naive = UTC).")
    exit_price: float | None = Field(default=None, gt=0, le=1e12, allow_inf_nan=False,
                                     description="Exit price; the entry is the signal bar's close.")
    realised_return: float | None = Field(default=None, ge=-1, le=100, allow_inf_nan=False,
                                          description="Return of the trade as a fraction (instead of exit_price).")


class SignalOutcomeResult(BaseModel):
    signal_id: int
    outcome: float | None = Field(description="1 the trade paid, 0 it did not, null when not filled.")
    realised_return: float | None
    exit_ts: UtcDatetime | None
    source: str = Field(description="reported, or unfilled.")
    replaced: str | None = Field(description="The outcome row this report replaced (pt, sl, vertical), if any.")


# ------------------------------------------------------------------------------------ audit log


class AuditEntry(BaseModel):
    id: int
    ts: UtcDatetime
    actor: str
    action: str
    target: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class AuditPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AuditEntry]
