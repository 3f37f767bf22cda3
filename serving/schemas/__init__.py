"""Every request and response model of the ``/ml`` API (pydantic v2), one module per API group; every name is
importable from here (``from serving.schemas import SignalRequest``).

Modules: :mod:`~serving.schemas.common` (patterns, the clock, datetime types, the strict request base,
``ModelRef``, ``ErrorResponse``), :mod:`~serving.schemas.inline` (inline bars, explanations),
:mod:`~serving.schemas.volatility`, :mod:`~serving.schemas.signals`, :mod:`~serving.schemas.models`,
:mod:`~serving.schemas.approvals`, :mod:`~serving.schemas.tuning`, :mod:`~serving.schemas.bars` (pushed bars),
:mod:`~serving.schemas.risk`, :mod:`~serving.schemas.outcomes`, :mod:`~serving.schemas.audit`.

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

from serving.schemas.approvals import ApprovalResult, MLflowWebhook
from serving.schemas.audit import AuditEntry, AuditPage
from serving.schemas.bars import (
    MAX_PUSH_BARS,
    BarsPushRequest,
    BarsPushResult,
    PushBar,
    PushedSeries,
    RejectedBar,
)
from serving.schemas.common import (
    SYMBOL_PATTERN,
    TIMEFRAME_PATTERN,
    ApiDatetime,
    ErrorResponse,
    ModelRef,
    QueryDatetime,
    UtcDatetime,
    naive_utc,
    server_now,
    timeframe_minutes,
)
from serving.schemas.inline import (
    MAX_INLINE_BARS_PER_BATCH,
    Bar,
    Explanation,
    FeatureContribution,
    inline_bars_order,
)
from serving.schemas.models import (
    JobStatus,
    ModelInfo,
    ModelList,
    ModelPerformance,
    PerformanceReport,
    RegisteredVersion,
    ReloadResult,
    TrainRequest,
)
from serving.schemas.outcomes import SignalOutcomeRequest, SignalOutcomeResult
from serving.schemas.risk import (
    PositionSizeRequest,
    PositionSizeResult,
    RegimeRequest,
    RegimeResult,
    StopsRequest,
    StopsResult,
)
from serving.schemas.signals import (
    CALLER_FEATURE_PATTERN,
    SignalBatchRequest,
    SignalBatchResponse,
    SignalHistory,
    SignalHistoryItem,
    SignalRequest,
    SignalResult,
    SignalStats,
    StrategyStats,
    TradePlan,
)
from serving.schemas.tuning import (
    TuneApplyRequest,
    TuneApplyResult,
    TuneJob,
    TuneRequest,
    TuneResults,
    TuneStatus,
)
from serving.schemas.volatility import (
    AccuracyBlock,
    VolatilityAccuracy,
    VolatilityBatchRequest,
    VolatilityBatchResponse,
    VolatilityHistory,
    VolatilityHistoryItem,
    VolatilityRequest,
    VolatilityResult,
)

__all__ = [
    "CALLER_FEATURE_PATTERN", "MAX_INLINE_BARS_PER_BATCH", "MAX_PUSH_BARS", "SYMBOL_PATTERN", "TIMEFRAME_PATTERN",
    "AccuracyBlock", "ApiDatetime", "ApprovalResult", "AuditEntry", "AuditPage", "Bar", "BarsPushRequest",
    "BarsPushResult", "ErrorResponse", "Explanation", "FeatureContribution", "JobStatus", "MLflowWebhook",
    "ModelInfo", "ModelList", "ModelPerformance", "ModelRef", "PerformanceReport", "PositionSizeRequest",
    "PositionSizeResult", "PushBar", "PushedSeries", "QueryDatetime", "RegimeRequest", "RegimeResult",
    "RegisteredVersion", "RejectedBar", "ReloadResult", "SignalBatchRequest", "SignalBatchResponse",
    "SignalHistory", "SignalHistoryItem", "SignalOutcomeRequest", "SignalOutcomeResult", "SignalRequest",
    "SignalResult", "SignalStats", "StopsRequest", "StopsResult", "StrategyStats", "TradePlan",
    "TrainRequest", "TuneApplyRequest", "TuneApplyResult", "TuneJob", "TuneRequest", "TuneResults", "TuneStatus",
    "UtcDatetime", "VolatilityAccuracy", "VolatilityBatchRequest", "VolatilityBatchResponse",
    "VolatilityHistory", "VolatilityHistoryItem", "VolatilityRequest", "VolatilityResult", "inline_bars_order",
    "naive_utc", "server_now", "timeframe_minutes",
]
