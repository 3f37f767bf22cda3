"""The ``/ml`` API as one BentoML 1.4 service (``bentoml serve serving.service:MLService``).

* POST endpoints are ``@bentoml.api`` methods whose whole JSON body is one pydantic model
  (positional-only parameter = root input); GET endpoints with path/query parameters live on a
  FastAPI app mounted at ``/ml`` whose routes are methods of the same class (BentoML binds ``self``).
* :class:`serving.auth.ApiKeyMiddleware` authenticates everything under ``/ml`` (401/403) and turns
  request-validation errors into 422 naming the field; docs, ``/metrics``, ``/livez``, ``/readyz``
  stay open.
* The champion of each registered model is loaded at start and swapped atomically when the alias
  moves (background poll every ``ABTPRO_SERVING_POLL_SECONDS`` and ``POST /ml/models/reload``).
* Every answer names the model version used; every score/forecast is stored with its features.
"""

from __future__ import annotations

import gc
import logging
import math
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import bentoml
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse

import registry
from abtpro.settings import apply_offline_env, get_settings
from serving import db_errors, persistence, request_timeout
from serving.auth import ApiKeyMiddleware, KeyCache, current_user
from serving.config import get_serving_settings
from serving.inference import (
    BadInputError,
    LRUCache,
    NotFoundError,
    group_indices,
    load_bars,
    origin_positions,
    predict_volatility,
    score_signals,
    signal_history_bars,
    window_from_request,
)
from serving.jobs import JobSpec, TrainingJobs
from serving.models import ChampionPoller, ChampionSlot, NoChampionError
from serving.openapi import DocumentedService
from serving.schemas import (
    AccuracyBlock,
    ErrorResponse,
    Explanation,
    JobStatus,
    ModelInfo,
    ModelList,
    ModelPerformance,
    ModelRef,
    PerformanceReport,
    RegisteredVersion,
    ReloadResult,
    SignalBatchRequest,
    SignalBatchResponse,
    SignalHistory,
    SignalHistoryItem,
    SignalRequest,
    SignalResult,
    SignalStats,
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
    VolatilityHistoryItem,
    VolatilityRequest,
    VolatilityResult,
    timeframe_minutes,
)
from serving.tuning import (
    ConflictError,
    JobStartError,
    TuneJobs,
    apply_job,
    job_of,
    require_bars,
    results_of,
    status_of,
    visible_job,
)
from store import db, predictions, records
from store.users import ApiUser

if TYPE_CHECKING:
    from store.models import MLModelTraining

apply_offline_env()
request_timeout.install()  # BentoML 1.4 keeps every request's timeout timer alive: cancel it (tail latency)

logger = logging.getLogger("abtpro.serving")
MAX_INT32 = 2**31 - 1  # ids and offsets are 32-bit integers in the database

PREDICTIONS = bentoml.metrics.Counter(
    name="abtpro_predictions",
    documentation="Scores/forecasts served, per registered model name and version.",
    labelnames=["model", "version", "endpoint"],
)

api_app = FastAPI(title="ABTPro ML API (GET endpoints)", docs_url=None, redoc_url=None, openapi_url=None)
db_errors.install_fastapi(api_app)  # database unreachable -> 503


@api_app.exception_handler(RequestValidationError)
async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [".".join(str(p) for p in e.get("loc", []) if p not in ("query", "path", "body")) for e in exc.errors()]
    message = "; ".join(f"{f}: {e.get('msg', '')}" for f, e in zip(fields, exc.errors()))
    detail = [{"loc": list(e.get("loc", [])), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
    return JSONResponse({"error": f"invalid request: {message}", "fields": fields, "detail": detail}, 422)


def error(status: int, message: str, ctx: bentoml.Context | None = None, **extra: Any) -> JSONResponse:
    """A JSON error answer ``{"error": ..., ...}``.

    BentoML copies ``ctx.response.status_code`` onto whatever a handler that takes ``ctx`` returns,
    so the status is set there too.
    """
    if ctx is not None:
        ctx.response.status_code = status
    return JSONResponse({"error": message, **extra}, status_code=status)


def guarded(fn: Callable[[], Any], ctx: bentoml.Context | None = None) -> Any:
    """Run a handler body, mapping domain errors to 404 / 409 / 422 / 503 answers."""
    try:
        return fn()
    except NoChampionError as exc:
        return error(503, str(exc), ctx)
    except NotFoundError as exc:
        return error(404, str(exc), ctx)
    except BadInputError as exc:
        return error(422, f"invalid request: {exc.field}: {exc}", ctx, fields=[exc.field])
    except ConflictError as exc:
        return error(409, str(exc), ctx)
    except JobStartError as exc:
        return error(503, str(exc), ctx)
    except Exception as exc:
        if not db_errors.is_db_unavailable(exc):
            raise
        db_errors.log(exc)
        return error(503, db_errors.MESSAGE, ctx)


def bars_per_year(timeframe: str) -> float:
    """Bars in a year: 252 trading days for daily and longer bars, 24h sessions for intraday bars."""
    minutes = timeframe_minutes(timeframe)
    return 252.0 * 1440.0 / minutes if minutes < 1440 else 252.0 / (minutes / 1440.0)


def _explanation(raw: dict[str, Any] | None) -> Explanation | None:
    return None if raw is None else Explanation(**raw)


def _user(ctx: bentoml.Context) -> ApiUser:
    return current_user(ctx.request.scope)


@bentoml.service(
    name="abtpro_ml",
    service_class=DocumentedService,  # /docs.json: title, version, the X-API-Key scheme (serving.openapi)
    workers=int(os.environ.get("ABTPRO_SERVING_WORKERS", "1")),
    threads=int(os.environ.get("ABTPRO_SERVING_THREADS", "4")),
    traffic={"timeout": 120},
    # explicit latency buckets (1 ms .. 10 s) so p50/p99 can be read from /metrics at SLO resolution
    metrics={"enabled": True, "namespace": "abtpro",
             "duration": {"buckets": [0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075,
                                      0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0]}},
)
@bentoml.asgi_app(api_app, path="/ml")
class MLService:
    """ABTPro ML serving: signal quality, volatility and model management under ``/ml``."""

    def __init__(self) -> None:
        self.settings = get_settings()
        self.serving = get_serving_settings()
        self.db_url = self.settings.db_url
        if not self.serving.durable_writes:
            db.relax_durability(self.db_url)
        db.background_checkpoints(self.db_url)
        registry.configure(self.settings)
        self.volatility = ChampionSlot(registry.VOLATILITY_MODEL, "volatility")
        self.signal = ChampionSlot(registry.SIGNAL_QUALITY_MODEL, "signal_quality")
        self.slots = {"volatility": self.volatility, "signal_quality": self.signal}
        for slot in self.slots.values():
            slot.refresh()
        self.poller = ChampionPoller(self.slots.values(), self.serving.poll_seconds)
        self.poller.start()
        # Everything loaded so far (libraries, models) lives as long as the process: move it out of
        # the cyclic GC's reach so a full collection does not stall requests while walking it.
        gc.collect()
        gc.freeze()
        self.keys = KeyCache(self.db_url, self.serving.auth_cache_seconds)
        self.cache = LRUCache(self.serving.cache_entries)
        self.jobs = TrainingJobs(self.db_url, {
            "VOLATILITY": JobSpec(self.serving.volatility_flow, self.serving.volatility_deployment),
            "SIGNAL_QUALITY": JobSpec(self.serving.signal_flow, self.serving.signal_deployment),
        }, use_deployments=self.serving.use_prefect_deployments)
        self.tune_jobs = TuneJobs(self.db_url, use_deployments=self.serving.use_prefect_deployments)

    @bentoml.on_shutdown
    def _stop(self) -> None:
        self.poller.stop()

    def __is_ready__(self) -> bool:
        """Ready once the app started; missing champions answer 503 per endpoint, with the reason."""
        return True

    # ------------------------------------------------------------------------------ volatility

    def _volatility_results(self, items: list[VolatilityRequest], user: ApiUser,
                            endpoint: str) -> tuple[ModelRef, list[VolatilityResult]]:
        model = self.volatility.require()  # one snapshot for the whole request
        n = self.serving.volatility_bars
        outs: list[Any] = [None] * len(items)
        keys = [(r.symbol, r.timeframe, r.coverage, r.explain, i if r.bars else None) for i, r in enumerate(items)]
        for (symbol, timeframe, coverage, explain, inline), idx in group_indices(keys).items():
            origins = [items[i].as_of for i in idx]
            if inline is not None:
                bars = window_from_request(items[inline].bars or [])
            else:
                bars = load_bars(self.db_url, symbol, timeframe, origins, n)
            positions = origin_positions(bars, origins, "as_of")
            for i, out in zip(idx, predict_volatility(model, symbol, bars, positions, coverage, explain, self.cache)):
                outs[i] = out
        rows = []
        for r, out in zip(items, outs):
            minutes = out.horizon_bars * timeframe_minutes(r.timeframe)
            rows.append({"user_id": user.id, "symbol": r.symbol, "timeframe": r.timeframe,
                         "predicted": out.predicted, "confidence": r.coverage, "lower": out.lower,
                         "upper": out.upper, "features": out.features, "horizon": minutes, "as_of": out.as_of,
                         "model_name": model.name, "model_version": model.version})
        ids = persistence.save_volatility(self.db_url, rows)
        PREDICTIONS.labels(model=model.name, version=model.version, endpoint=endpoint).inc(len(ids))
        ref = ModelRef(name=model.name, version=model.version)
        results = [
            VolatilityResult(id=i, symbol=r.symbol, timeframe=r.timeframe, as_of=out.as_of,
                             horizon_bars=out.horizon_bars, horizon_minutes=row["horizon"], predicted=out.predicted,
                             lower=out.lower, upper=out.upper, confidence=r.coverage,
                             annualised=out.predicted * math.sqrt(bars_per_year(r.timeframe)), model=ref,
                             explanation=_explanation(out.explanation) if r.explain else None)
            for i, r, out, row in zip(ids, items, outs, rows)
        ]
        return ref, results

    @bentoml.api(route="/ml/volatility/predict")
    def volatility_predict(self, request: VolatilityRequest, /, ctx: bentoml.Context) -> VolatilityResult:
        """Forecast the realised volatility of the next ``horizon`` bars (with a conformal interval)."""
        return guarded(lambda: self._volatility_results([request], _user(ctx), "volatility_predict")[1][0], ctx)

    @bentoml.api(route="/ml/volatility/predict_batch")
    def volatility_predict_batch(self, request: VolatilityBatchRequest, /,
                                 ctx: bentoml.Context) -> VolatilityBatchResponse:
        """Up to 1,000 forecasts with one model version; each is stored."""
        if len(request.requests) > self.serving.max_batch:
            return error(422, f"invalid request: requests: at most {self.serving.max_batch} items", ctx,
                         fields=["requests"])

        def run() -> VolatilityBatchResponse:
            ref, results = self._volatility_results(request.requests, _user(ctx), "volatility_predict_batch")
            return VolatilityBatchResponse(model=ref, count=len(results), predictions=results)

        return guarded(run, ctx)

    # ------------------------------------------------------------------------------ signals

    def _signal_results(self, items: list[SignalRequest], user: ApiUser,
                        endpoint: str) -> tuple[ModelRef, list[SignalResult]]:
        model = self.signal.require()
        outs: list[Any] = [None] * len(items)
        keys = [(r.symbol, r.timeframe, r.strategy, r.explain, i if r.bars else None) for i, r in enumerate(items)]
        for (symbol, timeframe, strategy, explain, inline), idx in group_indices(keys).items():
            origins = [items[i].ts for i in idx]
            if inline is not None:
                bars = window_from_request(items[inline].bars or [])
            else:
                n = signal_history_bars(model, self.serving.signal_bars)
                bars = load_bars(self.db_url, symbol, timeframe, origins, n)
            positions = origin_positions(bars, origins, "ts")
            sides = [1 if items[i].side == "BUY" else -1 for i in idx]
            strengths = [items[i].strength for i in idx]
            for i, out in zip(idx, score_signals(model, symbol, strategy, bars, positions, sides, strengths,
                                                 explain, self.cache)):
                outs[i] = out
        rows = [{"user_id": user.id, "symbol": r.symbol, "timeframe": r.timeframe, "strategy": r.strategy,
                 "side": r.side, "signal_ts": out.ts, "score": out.score, "confidence": out.confidence,
                 "features": out.features, "prediction": out.prediction, "model_name": model.name,
                 "model_version": model.version} for r, out in zip(items, outs)]
        ids = persistence.save_signal_scores(self.db_url, rows)
        PREDICTIONS.labels(model=model.name, version=model.version, endpoint=endpoint).inc(len(ids))
        ref = ModelRef(name=model.name, version=model.version)
        results = [
            SignalResult(id=i, symbol=r.symbol, timeframe=r.timeframe, strategy=r.strategy, side=r.side, ts=out.ts,
                         score=out.score, confidence=out.confidence, prediction=out.prediction,
                         threshold=out.threshold, model=ref,
                         explanation=_explanation(out.explanation) if r.explain else None)
            for i, r, out in zip(ids, items, outs)
        ]
        return ref, results

    @bentoml.api(route="/ml/signal/score")
    def signal_score(self, request: SignalRequest, /, ctx: bentoml.Context) -> SignalResult:
        """Score a trading signal: calibrated P(success), confidence and BUY/SELL/HOLD."""
        return guarded(lambda: self._signal_results([request], _user(ctx), "signal_score")[1][0], ctx)

    @bentoml.api(route="/ml/signal/score_batch")
    def signal_score_batch(self, request: SignalBatchRequest, /, ctx: bentoml.Context) -> SignalBatchResponse:
        """Score up to 1,000 signals with one model version; each is stored."""
        if len(request.signals) > self.serving.max_batch:
            return error(422, f"invalid request: signals: at most {self.serving.max_batch} items", ctx,
                         fields=["signals"])

        def run() -> SignalBatchResponse:
            ref, results = self._signal_results(request.signals, _user(ctx), "signal_score_batch")
            return SignalBatchResponse(model=ref, count=len(results), scores=results)

        return guarded(run, ctx)

    # ------------------------------------------------------------------------------ models (POST)

    @bentoml.api(route="/ml/models/train")
    def models_train(self, request: TrainRequest, /, ctx: bentoml.Context) -> JobStatus:
        """Admin: start a training run in the background; returns the job id at once (202)."""
        user = _user(ctx)
        params: dict[str, Any] = {"symbols": request.symbols}
        if request.model_type == "VOLATILITY":
            params["horizon"] = request.horizon
        job_id = self.jobs.submit(request.model_type, params, actor=user.name)
        ctx.response.status_code = 202
        return self._job(job_id)

    @bentoml.api(route="/ml/models/reload")
    def models_reload(self, ctx: bentoml.Context, models: list[str] | None = None) -> ReloadResult:
        """Admin: re-read the ``champion`` aliases now and swap in any new version."""
        user = _user(ctx)
        chosen = {k: v for k, v in self.slots.items() if not models or k in models or v.name in models}
        changed = [slot.name for slot in chosen.values() if slot.refresh()]
        current = {slot.name: (None if slot.current is None else ModelRef(name=slot.name, version=slot.current.version))
                   for slot in self.slots.values()}
        records.audit(self.db_url, user.name, "model.reload", ",".join(s.name for s in chosen.values()),
                      {"changed": changed, "versions": {k: (v.version if v else None) for k, v in current.items()},
                       "errors": {s.name: s.last_error for s in chosen.values() if s.last_error}})
        return ReloadResult(models=current, changed=changed)

    def _job(self, job_id: int) -> JobStatus:
        row = records.get_training(self.db_url, job_id)
        if row is None:
            raise NotFoundError(f"no training job {job_id}")
        return _job_status(row)

    # ------------------------------------------------------------------------------ tuning (POST)

    @bentoml.api(route="/ml/tune/start")
    def tune_start(self, request: TuneRequest, /, ctx: bentoml.Context) -> TuneJob:
        """Start walk-forward tuning of a strategy (flow ``tune-strategy``); returns the job id at once (202)."""
        user = _user(ctx)

        def run() -> TuneJob:
            require_bars(self.db_url, request.symbol, request.timeframe)
            job_id = self.tune_jobs.submit(request, user)
            ctx.response.status_code = 202
            return job_of(visible_job(self.db_url, job_id, user))

        return guarded(run, ctx)

    @bentoml.api(route="/ml/tune/apply")
    def tune_apply(self, request: TuneApplyRequest, /, ctx: bentoml.Context) -> TuneApplyResult:
        """Admin: make a COMPLETED tuning result the active parameters of its series (409 unless recommended/force)."""
        user = _user(ctx)
        if not user.is_admin:
            return error(403, "/ml/tune/apply is admin-only", ctx)
        return guarded(lambda: apply_job(self.db_url, request.job_id, user, request.force), ctx)

    # ------------------------------------------------------------------------------ GET endpoints

    @api_app.get("/signal/history", response_model=SignalHistory, responses={401: {"model": ErrorResponse}})
    def signal_history(self, request: Request, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=MAX_INT32),
                       symbol: str | None = None, strategy: str | None = None, timeframe: str | None = None,
                       start: datetime | None = None, end: datetime | None = None,
                       include_features: bool = True) -> Any:
        """The caller's scored signals, newest first (filters: symbol, strategy, timeframe, created_at range)."""
        user = current_user(request.scope)
        total, rows = predictions.signal_history(self.db_url, user.id, symbol=symbol, strategy=strategy,
                                                 timeframe=timeframe, start=start, end=end, limit=limit, offset=offset)
        items = [SignalHistoryItem(id=r.id, symbol=r.symbol, timeframe=r.timeframe, strategy=r.strategy, side=r.side,
                                   ts=r.signal_ts, score=r.score, confidence=r.confidence, prediction=r.prediction,
                                   features=r.features if include_features else None,
                                   model=ModelRef(name=r.model_name or "", version=r.model_version or ""),
                                   created_at=r.created_at) for r in rows]
        return SignalHistory(total=total, limit=limit, offset=offset, items=items)

    @api_app.get("/signal/stats", response_model=SignalStats)
    def signal_stats(self, request: Request, symbol: str | None = None, strategy: str | None = None,
                     timeframe: str | None = None, start: datetime | None = None, end: datetime | None = None) -> Any:
        """Aggregates of the caller's scored signals."""
        user = current_user(request.scope)
        return SignalStats(**predictions.signal_stats(self.db_url, user.id, symbol=symbol, strategy=strategy,
                                                      timeframe=timeframe, start=start, end=end))

    @api_app.get("/volatility/history", response_model=VolatilityHistory)
    def volatility_history(self, request: Request, limit: int = Query(100, ge=1, le=1000),
                           offset: int = Query(0, ge=0, le=MAX_INT32), symbol: str | None = None, timeframe: str | None = None,
                           start: datetime | None = None, end: datetime | None = None,
                           include_features: bool = True) -> Any:
        """The caller's volatility forecasts, newest first (``include_features=false`` for lean pages)."""
        user = current_user(request.scope)
        total, rows = predictions.volatility_history(self.db_url, user.id, symbol=symbol, timeframe=timeframe,
                                                     start=start, end=end, limit=limit, offset=offset)
        items = [VolatilityHistoryItem(id=r.id, symbol=r.symbol, timeframe=r.timeframe, as_of=r.as_of,
                                       horizon=r.horizon, predicted=r.predicted, actual=r.actual, lower=r.lower,
                                       upper=r.upper, confidence=r.confidence,
                                       features=r.features if include_features else None,
                                       model=ModelRef(name=r.model_name or "", version=r.model_version or ""),
                                       created_at=r.created_at) for r in rows]
        return VolatilityHistory(total=total, limit=limit, offset=offset, items=items)

    @api_app.get("/volatility/accuracy", response_model=VolatilityAccuracy)
    def volatility_accuracy(self, request: Request, symbol: str | None = None, timeframe: str | None = None,
                            start: datetime | None = None, end: datetime | None = None,
                            limit: int = Query(10_000, ge=1, le=100_000)) -> Any:
        """Accuracy of the caller's forecasts whose horizon has passed (actual from the stored bars)."""
        user = current_user(request.scope)
        return _accuracy(self.db_url, user.id, symbol=symbol, timeframe=timeframe, start=start, end=end, limit=limit)

    @api_app.get("/models/list", response_model=ModelList)
    def models_list(self) -> Any:
        """Registered models, their versions and aliases, and the version this server answers with."""
        client = registry.configure(self.settings)
        infos = []
        for kind, slot in self.slots.items():
            try:
                versions = client.search_model_versions(f"name='{slot.name}'")
                aliases_of: dict[str, list[str]] = {}
                for alias, version in (client.get_registered_model(slot.name).aliases or {}).items():
                    aliases_of.setdefault(str(version), []).append(alias)
            except Exception:  # noqa: BLE001 - registry down / model not registered: report what is served
                versions, aliases_of = [], {}
            regs = [RegisteredVersion(version=str(v.version), aliases=sorted(aliases_of.get(str(v.version), [])),
                                      run_id=v.run_id, tags=dict(v.tags or {}), description=v.description,
                                      created_at=datetime.fromtimestamp(v.creation_timestamp / 1000, UTC)
                                      .replace(tzinfo=None) if v.creation_timestamp else None)
                    for v in sorted(versions, key=lambda v: int(v.version), reverse=True)]
            cur = slot.current
            infos.append(ModelInfo(name=slot.name, kind=kind, versions=regs,
                                   serving=None if cur is None else ModelRef(name=cur.name, version=cur.version)))
        return ModelList(models=infos)

    @api_app.get("/models/performance", response_model=PerformanceReport)
    def models_performance(self) -> Any:
        """Registry metrics of the serving versions, live metrics from stored predictions, recent trainings."""
        client = registry.configure(self.settings)
        out = []
        for kind, slot in self.slots.items():
            cur = slot.current
            metrics: dict[str, float] = {}
            if cur is not None and cur.run_id:
                try:
                    metrics = {k: float(v) for k, v in client.get_run(cur.run_id).data.metrics.items()}
                except Exception:  # noqa: BLE001
                    metrics = {}
            if kind == "signal_quality":
                live: dict[str, Any] = predictions.signal_stats(self.db_url, None)
            else:
                live = _accuracy(self.db_url, None, limit=5000).model_dump()
            model_type = "SIGNAL_QUALITY" if kind == "signal_quality" else "VOLATILITY"
            trainings = [_job_status(r) for r in records.recent_trainings(self.db_url, model_type, 10)]
            out.append(ModelPerformance(name=slot.name, registry_metrics=metrics, live=live,
                                        recent_trainings=trainings,
                                        serving=None if cur is None else ModelRef(name=cur.name, version=cur.version)))
        return PerformanceReport(models=out)

    @api_app.get("/models/jobs/{job_id}", response_model=JobStatus)
    def models_job(self, job_id: int = Path(ge=1, le=MAX_INT32)) -> Any:
        """Status of a training job (the ``MLModelTraining`` row)."""
        return guarded(lambda: self._job(job_id))

    @api_app.get("/tune/status/{job_id}", response_model=TuneStatus)
    def tune_status(self, request: Request, job_id: int = Path(ge=1, le=MAX_INT32)) -> Any:
        """Status of one of the caller's tuning jobs (admins: any job); error and start/finish times."""
        user = current_user(request.scope)
        return guarded(lambda: status_of(visible_job(self.db_url, job_id, user)))

    @api_app.get("/tune/results/{job_id}", response_model=TuneResults)
    def tune_results(self, request: Request, job_id: int = Path(ge=1, le=MAX_INT32)) -> Any:
        """Results of a COMPLETED tuning job (409 before): params, verdict, before/after metrics, DSR, PBO."""
        user = current_user(request.scope)
        return guarded(lambda: results_of(visible_job(self.db_url, job_id, user)))


def _job_status(row: MLModelTraining) -> JobStatus:
    return JobStatus(job_id=row.id, model_type=row.model_type, status=row.status, model_version=row.model_version,
                     mlflow_run_id=row.mlflow_run_id, performance=row.performance or {},
                     training_data=row.training_data or {}, error=row.error, started_at=row.started_at,
                     completed_at=row.completed_at)


def _accuracy(url: str, user_id: int | None, **filters: Any) -> VolatilityAccuracy:
    frame = persistence.volatility_rows(url, user_id, **filters)
    if frame.empty:
        return VolatilityAccuracy(n_predictions=0, n_resolved=0, overall=AccuracyBlock(n=0), by_symbol={},
                                  by_model_version={})
    frame = persistence.resolve_actuals(url, frame)
    overall = _accuracy_block(frame)
    by_symbol = {str(s): _accuracy_block(g) for s, g in frame.groupby("symbol")}
    by_version = {f"{n}/{v}": _accuracy_block(g) for (n, v), g in frame.groupby(["model_name", "model_version"])}
    return VolatilityAccuracy(n_predictions=len(frame), n_resolved=overall.n, overall=overall,
                              by_symbol=by_symbol, by_model_version=by_version)


#: API name of each metric of :func:`ml.monitoring.volatility_live_metrics`.
_ACCURACY_NAMES = {"mae": "mae", "rmse": "rmse", "qlike": "qlike", "dir_acc": "directional_accuracy",
                   "coverage": "interval_coverage"}


def _accuracy_block(frame: Any) -> AccuracyBlock:
    """The accuracy of stored forecasts as computed by monitoring (one function), under the API's names."""
    from ml.monitoring import resolved, volatility_live_metrics

    live = volatility_live_metrics(frame)
    block: dict[str, Any] = {api: live[k] for k, api in _ACCURACY_NAMES.items() if k in live}
    if live["n"]:
        block["mean_confidence"] = float(frame["confidence"][resolved(frame["actual"], frame["predicted"])].mean())
    block = {k: (v if math.isfinite(v) else None) for k, v in block.items()}
    return AccuracyBlock(n=int(live["n"]), **block)


MLService.add_asgi_middleware(db_errors.DatabaseUnavailableMiddleware)  # outermost: API-key lookups too
MLService.add_asgi_middleware(ApiKeyMiddleware, resolver=lambda: bentoml.get_current_service().keys)
