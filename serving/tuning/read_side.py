"""The read side: a job scoped to its owner (admins see all), its job, status and results answers, and applying
it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from serving.inference import NotFoundError
from serving.schemas import TuneApplyResult, TuneJob, TuneResults, TuneStatus
from serving.tuning.errors import ConflictError
from store import optimizations
from store.users import ApiUser


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None



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

