"""Strategy-tuning jobs of the ``/ml/tune/*`` endpoints: a ``StrategyOptimization`` row is the job.

``TuneJobs.submit`` inserts the row (status PENDING, via :func:`store.optimizations.create`),
writes the audit row (action ``tune``) and hands the run to a daemon thread; the request returns in
milliseconds. That thread schedules the Prefect deployment ``tune-strategy/tune-strategy`` when a
server is reachable and has it (``run_deployment(..., timeout=0)``), otherwise it runs the flow
function :func:`flows.tune.tune_strategy` in-process. The flow moves the row PENDING -> RUNNING ->
COMPLETED | FAILED itself (it receives ``optimization_id``); the runner marks it FAILED when the
run could not be started or the flow raised/returned without finishing the row.

The read helpers (:func:`visible_job`, :func:`status_of`, :func:`results_of`) scope jobs to their
owner: another user's job is reported as unknown (404); admins see every job.

Quotas (:func:`check_quota`, issue 18): a non-admin key may have at most ``tune_max_open_per_user`` jobs
PENDING or RUNNING and start at most ``tune_max_jobs_per_day`` in 24 hours, and the service runs at most
``tune_max_open_total`` open jobs of all users (admins included); beyond that ``POST /ml/tune/start``
answers 429 with ``Retry-After``. Open jobs older than :data:`STALE_HOURS` (a run lost with a crashed
service) no longer count. The checks read the job rows, so two requests at the same instant may both pass
(a soft limit); the Prefect deployment's own concurrency limit is the hard one.
"""

from __future__ import annotations

import logging
import os
import threading
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from serving.inference import NotFoundError, load_bars
from serving.jobs import resolve, schedule_deployment
from serving.schemas import TuneApplyResult, TuneJob, TuneRequest, TuneResults, TuneStatus
from store import optimizations, records
from store.users import ApiUser

logger = logging.getLogger("abtpro.serving.tuning")

TUNE_FLOW = "flows.tune:tune_strategy"
TUNE_DEPLOYMENT = "tune-strategy/tune-strategy"
TERMINAL = (optimizations.COMPLETED, optimizations.FAILED)


class ConflictError(RuntimeError):
    """The job exists but is in the wrong state for the request (409)."""


class JobStartError(RuntimeError):
    """The run could not be handed to a runner (503); the row has been marked FAILED."""


class QuotaError(RuntimeError):
    """The caller (or the service) has as many tuning jobs as it may have now (429)."""

    def __init__(self, message: str, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = retry_after


STALE_HOURS = 6.0


def _recent(url: str, since: datetime, user_id: int | None = None, status: str | None = None,
            cap: int = 10_000) -> list[optimizations.Optimization]:
    rows = optimizations.list_optimizations(url, user_id=user_id, status=status, limit=cap)
    return [r for r in rows if r.created_at >= since]


def check_quota(url: str, user: ApiUser, max_open_per_user: int, max_per_day: int, max_open_total: int,
                now: datetime | None = None) -> None:
    """Refuse a new tuning job beyond the quotas of the module docstring (0 = no such limit).

    Raises:
        QuotaError: naming the limit that was reached.
    """
    from store.models import utcnow

    now = now or utcnow()
    fresh = now - timedelta(hours=STALE_HOURS)
    open_jobs = [r for status in (optimizations.PENDING, optimizations.RUNNING)
                 for r in _recent(url, fresh, status=status)]
    if max_open_total and len(open_jobs) >= max_open_total:
        raise QuotaError(f"the service is running {len(open_jobs)} tuning jobs, its limit "
                         f"(ABTPRO_SERVING_TUNE_MAX_OPEN_TOTAL={max_open_total}); retry when one has finished")
    if user.is_admin:
        return
    mine = [r for r in open_jobs if r.user_id == user.id]
    if max_open_per_user and len(mine) >= max_open_per_user:
        raise QuotaError(f"you have {len(mine)} tuning jobs pending or running, the limit per key "
                         f"(ABTPRO_SERVING_TUNE_MAX_OPEN_PER_USER={max_open_per_user}); wait for one to finish "
                         f"(GET /ml/tune/status/{{job_id}})")
    if max_per_day:
        today = _recent(url, now - timedelta(days=1), user_id=user.id, cap=max_per_day + 1)
        if len(today) >= max_per_day:
            oldest = min(r.created_at for r in today)
            wait = max(1, int((oldest + timedelta(days=1) - now).total_seconds()))
            raise QuotaError(f"you started {len(today)} tuning jobs in the last 24 hours, the limit per key "
                             f"(ABTPRO_SERVING_TUNE_MAX_JOBS_PER_DAY={max_per_day})", retry_after=wait)


def _defaults(strategy: str) -> dict[str, Any]:
    from ml.strategies import get_strategy_class

    return get_strategy_class(strategy)().params()


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


class TuneJobs:
    """Start tuning runs without blocking the request.

    Args:
        db_url: app database.
        flow: the tune flow function or ``module:function``.
        deployment: Prefect deployment ``flow/deployment`` tried first.
        use_deployments: look for the deployment (only when ``PREFECT_API_URL`` is set).
    """

    def __init__(self, db_url: str, flow: str | Callable[..., Any] = TUNE_FLOW,
                 deployment: str | None = TUNE_DEPLOYMENT, use_deployments: bool = True):
        self.db_url = db_url
        self.flow = flow
        self.deployment = deployment
        self.use_deployments = use_deployments
        self._threads: dict[int, threading.Thread] = {}

    def submit(self, request: TuneRequest, user: ApiUser) -> int:
        """Create the PENDING row, audit the request and start the run in a daemon thread; returns the id.

        Raises:
            JobStartError: the thread could not be started (the row is marked FAILED first).
        """
        settings = {"budget": request.budget, "n_windows": request.n_windows, "seed": request.seed}
        job_id = optimizations.create(self.db_url, request.strategy, request.symbol, request.timeframe,
                                      request.method, user_id=user.id, original_params=_defaults(request.strategy),
                                      request=settings)
        params = {"strategy": request.strategy, "symbol": request.symbol, "timeframe": request.timeframe,
                  "method": request.method, **settings, "optimization_id": job_id, "user_id": user.id}
        records.audit(self.db_url, user.name, "tune", f"strategy_optimization/{job_id}",
                      {k: v for k, v in params.items() if k != "optimization_id"})
        thread = threading.Thread(target=self._dispatch, args=(job_id, params, user.name),
                                  name=f"abtpro-tune-{job_id}", daemon=True)
        self._threads[job_id] = thread
        try:
            thread.start()
        except Exception as exc:  # e.g. "can't start new thread"
            self._threads.pop(job_id, None)
            optimizations.fail(self.db_url, job_id, f"could not start the tuning run: {type(exc).__name__}: {exc}")
            raise JobStartError(f"tuning job {job_id} could not be started: {exc}") from exc
        return job_id

    def _dispatch(self, job_id: int, params: dict[str, Any], actor: str) -> None:
        try:
            flow_run_id = None
            if self.use_deployments and self.deployment and os.environ.get("PREFECT_API_URL"):
                flow_run_id = self._run_deployment(self.deployment, params)
            runner = f"prefect-deployment:{self.deployment}" if flow_run_id else "thread"
            records.audit(self.db_url, actor, "tune.dispatched", f"strategy_optimization/{job_id}",
                          {"runner": runner, "flow_run_id": flow_run_id})
            if flow_run_id is None:
                self._run_local(job_id, params)
        except BaseException as exc:  # never leave a PENDING row behind
            logger.exception("tuning job %s could not be dispatched", job_id)
            self._fail_unfinished(job_id, f"could not start the tuning run: {type(exc).__name__}: {exc}")
        finally:
            self._threads.pop(job_id, None)

    def _run_deployment(self, name: str, parameters: dict[str, Any]) -> str | None:
        return schedule_deployment(name, parameters)

    def _run_local(self, job_id: int, params: dict[str, Any]) -> None:
        try:
            resolve(self.flow)(**params)
        except BaseException as exc:  # the flow marks the row itself when it got that far
            logger.exception("tuning job %s failed", job_id)
            self._fail_unfinished(job_id, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
        else:
            self._fail_unfinished(job_id, "the tune flow returned without recording a result")

    def _fail_unfinished(self, job_id: int, error: str) -> None:
        """Mark the row FAILED unless the flow already finished it."""
        row = optimizations.get(self.db_url, job_id)
        if row is not None and row.status not in TERMINAL:
            optimizations.fail(self.db_url, job_id, error)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Join the local thread of a job (tests)."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)


def require_bars(url: str, symbol: str, timeframe: str) -> None:
    """Raise :class:`NotFoundError` (404) when the store has no bars of (symbol, timeframe)."""
    try:
        load_bars(url, symbol, timeframe, [None], 1)
    except NotFoundError:
        raise NotFoundError(f"unknown symbol {symbol!r} (timeframe {timeframe}): no bars in the store; "
                            "ingest them first") from None


# ------------------------------------------------------------------------------ read side


def visible_job(url: str, job_id: int, user: ApiUser) -> optimizations.Optimization:
    """The job if ``user`` may see it (owner or admin).

    Raises:
        NotFoundError: no such job, or it belongs to someone else.
    """
    row = optimizations.get(url, job_id)
    if row is None or (not user.is_admin and row.user_id != user.id):
        raise NotFoundError(f"no tuning job {job_id}")
    return row


def job_of(row: optimizations.Optimization) -> TuneJob:
    request = row.performance.get("request") or {}
    return TuneJob(job_id=row.id, status=row.status, strategy=row.strategy, symbol=row.symbol,
                   timeframe=row.timeframe, method=row.method, budget=request.get("budget"),
                   n_windows=request.get("n_windows"), seed=request.get("seed"), created_at=row.created_at)


def status_of(row: optimizations.Optimization) -> TuneStatus:
    perf = row.performance
    return TuneStatus(job_id=row.id, status=row.status, strategy=row.strategy, symbol=row.symbol,
                      timeframe=row.timeframe, method=row.method, error=row.error, created_at=row.created_at,
                      started_at=_time(perf.get("started_at")), finished_at=_time(perf.get("finished_at")),
                      request=perf.get("request") or {})


def results_of(row: optimizations.Optimization) -> TuneResults:
    """The results of a COMPLETED job.

    Raises:
        ConflictError: the job is not COMPLETED (yet).
    """
    if row.status != optimizations.COMPLETED:
        detail = f": {row.error}" if row.error else ""
        raise ConflictError(f"tuning job {row.id} is {row.status}, not COMPLETED; no results{detail}")
    perf = row.performance
    return TuneResults(job_id=row.id, status=row.status, strategy=row.strategy, symbol=row.symbol,
                       timeframe=row.timeframe, method=row.method, recommended=row.recommended, applied=row.applied,
                       original_params=row.original_params, optimized_params=row.optimized_params,
                       before=perf.get("before") or {}, after=perf.get("after") or {},
                       oos_improvement=perf.get("oos_improvement"), deflated_sharpe=perf.get("deflated_sharpe"),
                       pbo=perf.get("pbo"), windows=perf.get("windows") or [],
                       not_recommended_because=list(perf.get("not_recommended_because") or []),
                       pareto_front=list(perf.get("pareto_front") or []),
                       mlflow_run_id=perf.get("mlflow_run_id"), request=perf.get("request") or {},
                       started_at=_time(perf.get("started_at")), finished_at=_time(perf.get("finished_at")))


def apply_job(url: str, job_id: int, user: ApiUser, force: bool) -> TuneApplyResult:
    """Make a COMPLETED job's parameters the active ones of its series (audit-logged by the store).

    Raises:
        NotFoundError: no such job.
        ConflictError: refused (not COMPLETED, or not recommended without ``force``).
    """
    try:
        row = optimizations.apply(url, job_id, user.name, force=force)
    except optimizations.ApplyRefused as exc:
        raise ConflictError(str(exc)) from exc
    except KeyError as exc:
        raise NotFoundError(f"no tuning job {job_id}") from exc
    params = optimizations.active_params(url, row.strategy, row.symbol, row.timeframe)
    perf = row.performance
    return TuneApplyResult(job_id=row.id, strategy=row.strategy, symbol=row.symbol, timeframe=row.timeframe,
                           params=params if params is not None else row.optimized_params,
                           recommended=row.recommended, forced=bool(perf.get("forced", False)),
                           applied_by=str(perf.get("applied_by", user.name)),
                           applied_at=_time(perf.get("applied_at")))
