"""A typed Python client of the ``/ml`` API, for apps such as the ABTPro trading platform.

::

    from abtpro.client import ABTProClient

    with ABTProClient("http://127.0.0.1:3000", api_key="...") as ml:
        result = ml.score_signal(symbol="SP500", strategy="sma_crossover", side="BUY")
        if result.prediction != "HOLD":
            forecast = ml.predict_volatility(symbol="SP500")

One method per endpoint; requests and answers are the service's own pydantic models
(:mod:`serving.schemas`, pure pydantic: importing them starts nothing), so a field the service renames fails
here too. The key goes in ``X-API-Key``. Connection errors, timeouts and ``503`` (no champion yet, database
briefly down) are retried with exponential backoff; any other error status raises :class:`ABTProError`
with the service's message and field. The batch helpers split long lists into calls within the service's
limits and join the answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel

from serving.schemas import (
    AuditPage,
    BarsPushRequest,
    BarsPushResult,
    JobStatus,
    ModelList,
    PerformanceReport,
    PositionSizeRequest,
    PositionSizeResult,
    PushBar,
    RegimeRequest,
    RegimeResult,
    ReloadResult,
    SignalBatchRequest,
    SignalBatchResponse,
    SignalHistory,
    SignalOutcomeRequest,
    SignalOutcomeResult,
    SignalRequest,
    SignalResult,
    SignalStats,
    StopsRequest,
    StopsResult,
    TrainRequest,
    TuneApplyRequest,
    TuneApplyResult,
    TuneJob,
    TuneRequest,
    TuneResults,
    TuneStatus,
    VolatilityAccuracy,
    VolatilityBatchRequest,
    VolatilityBatchResponse,
    VolatilityHistory,
    VolatilityRequest,
    VolatilityResult,
)

M = TypeVar("M", bound=BaseModel)
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_SIGNALS, MAX_FORECASTS, MAX_BARS = 1000, 1000, 10_000  # the service's per-call limits


class ABTProError(Exception):
    """The service refused a request: ``status``, its JSON ``body`` (``error``; a 422 also names the failing
    ``fields``) and the request ``path``."""

    def __init__(self, status: int, body: Any, path: str) -> None:
        self.status, self.body, self.path = status, body, path
        self.fields: list[str] = list(body.get("fields") or []) if isinstance(body, dict) else []
        super().__init__(f"{path}: {status} {body.get('error') if isinstance(body, dict) else body}")


class ABTProClient:
    """The ``/ml`` API over HTTP.

    Args:
        base_url: the service, e.g. ``http://127.0.0.1:3000``.
        api_key: the caller's key (``abtpro users create``).
        timeout: seconds per attempt.
        retries: further attempts after a connection error, a timeout or a 502/503/504.
        backoff: first wait between attempts in seconds, doubled each time.
        http: an ``httpx.Client`` to use instead of a new one (its base URL is used; the key is still sent).
    """

    def __init__(self, base_url: str = "http://127.0.0.1:3000", api_key: str | None = None, *,
                 timeout: float = 30.0, retries: int = 3, backoff: float = 0.5,
                 http: httpx.Client | None = None) -> None:
        self._own = http is None
        self.http = http if http is not None else httpx.Client(base_url=base_url, timeout=timeout)
        self.headers = {"X-API-Key": api_key} if api_key else {}
        self.retries, self.backoff = retries, backoff

    def close(self) -> None:
        if self._own:
            self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------ transport

    def _call(self, method: str, path: str, answer: type[M], body: BaseModel | None = None,
              params: dict[str, Any] | None = None) -> M:
        json = None if body is None else body.model_dump(mode="json", exclude_none=True)
        query = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in (params or {}).items()
                 if v is not None}
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, path, json=json, params=query, headers=self.headers)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            else:
                if response.status_code < 400:
                    return answer.model_validate(response.json())
                if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                    raise ABTProError(response.status_code, _body(response), path)
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------------------------ signals

    def score_signal(self, symbol: str | None = None, strategy: str | None = None, side: str | None = None,
                     request: SignalRequest | None = None, **fields: Any) -> SignalResult:
        """Score one signal before executing it (``POST /ml/signal/score``): P(acting on it pays)."""
        request = request or SignalRequest(symbol=symbol, strategy=strategy, side=side, **fields)
        return self._call("POST", "/ml/signal/score", SignalResult, request)

    def score_signals(self, signals: Iterable[SignalRequest | dict[str, Any]]) -> list[SignalResult]:
        """Score many signals (``POST /ml/signal/score_batch``, split into calls of at most 1,000)."""
        items = [s if isinstance(s, SignalRequest) else SignalRequest(**s) for s in signals]
        out: list[SignalResult] = []
        for chunk in _chunks(items, MAX_SIGNALS):
            out += self._call("POST", "/ml/signal/score_batch", SignalBatchResponse,
                              SignalBatchRequest(signals=chunk)).scores
        return out

    def report_outcome(self, signal_id: int, filled: bool = True, **fields: Any) -> SignalOutcomeResult:
        """Report what happened to a scored signal (``POST /ml/signal/outcome``): ``exit_ts`` and ``exit_price``
        (or ``realised_return``) of a filled trade, or ``filled=False``."""
        return self._call("POST", "/ml/signal/outcome", SignalOutcomeResult,
                          SignalOutcomeRequest(signal_id=signal_id, filled=filled, **fields))

    def signal_history(self, **filters: Any) -> SignalHistory:
        """The caller's scored signals, newest first (``limit``, ``offset``, ``symbol``, ``strategy``, ...)."""
        return self._call("GET", "/ml/signal/history", SignalHistory, params=filters)

    def signal_stats(self, **filters: Any) -> SignalStats:
        """Aggregates of the caller's scored signals."""
        return self._call("GET", "/ml/signal/stats", SignalStats, params=filters)

    # ------------------------------------------------------------------------------------ volatility

    def predict_volatility(self, symbol: str | None = None, request: VolatilityRequest | None = None,
                           **fields: Any) -> VolatilityResult:
        """Forecast realised volatility with its interval (``POST /ml/volatility/predict``)."""
        request = request or VolatilityRequest(symbol=symbol, **fields)
        return self._call("POST", "/ml/volatility/predict", VolatilityResult, request)

    def predict_volatilities(self, requests: Iterable[VolatilityRequest | dict[str, Any]]) -> list[VolatilityResult]:
        """Many forecasts (``POST /ml/volatility/predict_batch``, split into calls of at most 1,000)."""
        items = [r if isinstance(r, VolatilityRequest) else VolatilityRequest(**r) for r in requests]
        out: list[VolatilityResult] = []
        for chunk in _chunks(items, MAX_FORECASTS):
            out += self._call("POST", "/ml/volatility/predict_batch", VolatilityBatchResponse,
                              VolatilityBatchRequest(requests=chunk)).predictions
        return out

    def volatility_history(self, **filters: Any) -> VolatilityHistory:
        """The caller's volatility forecasts, newest first."""
        return self._call("GET", "/ml/volatility/history", VolatilityHistory, params=filters)

    def volatility_accuracy(self, **filters: Any) -> VolatilityAccuracy:
        """Live accuracy of the caller's forecasts whose horizon has passed."""
        return self._call("GET", "/ml/volatility/accuracy", VolatilityAccuracy, params=filters)

    # ------------------------------------------------------------------------------------ risk

    def position_size(self, symbol: str | None = None, request: PositionSizeRequest | None = None,
                      **fields: Any) -> PositionSizeResult:
        """Units that run at ``target_volatility`` (annualised) from the champion forecast."""
        request = request or PositionSizeRequest(symbol=symbol, **fields)
        return self._call("POST", "/ml/risk/position_size", PositionSizeResult, request)

    def stops(self, symbol: str | None = None, side: str | None = None, request: StopsRequest | None = None,
              **fields: Any) -> StopsResult:
        """Volatility-scaled stop-loss and take-profit prices for an entry."""
        request = request or StopsRequest(symbol=symbol, side=side, **fields)
        return self._call("POST", "/ml/risk/stops", StopsResult, request)

    def regime(self, symbol: str | None = None, request: RegimeRequest | None = None, **fields: Any) -> RegimeResult:
        """The series' volatility regime (low / normal / high against its own forecast history)."""
        request = request or RegimeRequest(symbol=symbol, **fields)
        return self._call("POST", "/ml/risk/regime", RegimeResult, request)

    # ------------------------------------------------------------------------------------ bars (feeder)

    def push_bars(self, bars: Iterable[PushBar | dict[str, Any]], source: str | None = None) -> list[BarsPushResult]:
        """Push raw bars (feeder or admin key; ``POST /ml/bars`` in calls of at most 10,000 bars). Invalid rows
        come back in each answer's ``rejected`` with their reasons; they are quarantined, not lost."""
        items = [b if isinstance(b, PushBar) else PushBar(**b) for b in bars]
        return [self._call("POST", "/ml/bars", BarsPushResult, BarsPushRequest(bars=chunk, source=source))
                for chunk in _chunks(items, MAX_BARS)]

    # ------------------------------------------------------------------------------------ models

    def models(self) -> ModelList:
        """Registered models, their versions and aliases, and the versions being served."""
        return self._call("GET", "/ml/models/list", ModelList)

    def performance(self) -> PerformanceReport:
        """Registry and live metrics of the served versions."""
        return self._call("GET", "/ml/models/performance", PerformanceReport)

    def train(self, request: TrainRequest | None = None, **fields: Any) -> JobStatus:
        """Admin: start a training job (``POST /ml/models/train``); poll :meth:`training_job`."""
        return self._call("POST", "/ml/models/train", JobStatus, request or TrainRequest(**fields))

    def training_job(self, job_id: int) -> JobStatus:
        return self._call("GET", f"/ml/models/jobs/{int(job_id)}", JobStatus)

    def audit(self, **filters: Any) -> AuditPage:
        """Admin: the audit log, newest first (``actor``, ``action`` (``risk.*`` for a prefix), ``target``,
        ``start``, ``end``, ``limit``, ``offset``)."""
        return self._call("GET", "/ml/audit", AuditPage, params=filters)

    def reload(self) -> ReloadResult:
        """Admin: re-read the ``champion`` aliases now."""
        return self._call("POST", "/ml/models/reload", ReloadResult, _Empty())

    # ------------------------------------------------------------------------------------ tuning

    def tune(self, request: TuneRequest | None = None, **fields: Any) -> TuneJob:
        """Start a strategy-tuning job (``POST /ml/tune/start``); poll :meth:`tune_status`."""
        return self._call("POST", "/ml/tune/start", TuneJob, request or TuneRequest(**fields))

    def tune_status(self, job_id: int) -> TuneStatus:
        return self._call("GET", f"/ml/tune/status/{int(job_id)}", TuneStatus)

    def tune_results(self, job_id: int) -> TuneResults:
        return self._call("GET", f"/ml/tune/results/{int(job_id)}", TuneResults)

    def tune_apply(self, job_id: int, force: bool = False) -> TuneApplyResult:
        """Make a completed job's parameters the strategy's active ones."""
        return self._call("POST", "/ml/tune/apply", TuneApplyResult, TuneApplyRequest(job_id=job_id, force=force))


class _Empty(BaseModel):
    pass


def _chunks(items: Sequence[M], size: int) -> Iterable[list[M]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
