"""The job lifecycle: create (PENDING), start (RUNNING), complete (COMPLETED) or fail (FAILED)."""

from __future__ import annotations

from typing import Any

from store.db import session_scope
from store.models import AuditLog, StrategyOptimization
from store.optimizations.record import COMPLETED, FAILED, PENDING, RUNNING, STATUSES, Optimization
from store.optimizations.rows import _get_row, _now, _view, jsonable


def create(url: str, strategy: str, symbol: str, timeframe: str, method: str, *, user_id: int | None = None,
           original_params: dict[str, Any] | None = None, request: dict[str, Any] | None = None,
           status: str = PENDING) -> int:
    """Insert a new job row (default PENDING, as the API queues it) and return its id.

    Args:
        request: The job's settings (budget, windows, seed, ...), kept under ``performance["request"]``.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown status {status!r}; choose from {STATUSES}")
    performance = {"status": status, "recommended": False, "applied": False, "request": jsonable(request or {})}
    if status == RUNNING:
        performance["started_at"] = _now()
    with session_scope(url) as session:
        row = StrategyOptimization(user_id=user_id, strategy=strategy, symbol=symbol, timeframe=timeframe,
                                   method=method.upper(), original_params=jsonable(original_params or {}),
                                   optimized_params={}, performance=performance)
        session.add(row)
        session.flush()
        return row.id


def start(url: str, strategy: str, symbol: str, timeframe: str, method: str, *, optimization_id: int | None = None,
          user_id: int | None = None, original_params: dict[str, Any] | None = None,
          request: dict[str, Any] | None = None) -> int:
    """Mark a job RUNNING: reuse ``optimization_id`` (pre-created by the API) or create the row."""
    if optimization_id is None:
        return create(url, strategy, symbol, timeframe, method, user_id=user_id, original_params=original_params,
                      request=request, status=RUNNING)
    with session_scope(url) as session:
        row = _get_row(session, optimization_id)
        if (row.strategy, row.symbol, row.timeframe) != (strategy, symbol, timeframe):
            raise ValueError(f"optimization {optimization_id} is for {row.strategy}/{row.symbol}/{row.timeframe}, "
                             f"not {strategy}/{symbol}/{timeframe}")
        status = (row.performance or {}).get("status")
        if status == COMPLETED:
            raise ValueError(f"optimization {optimization_id} is already COMPLETED")
        row.method = method.upper()
        if original_params is not None:
            row.original_params = jsonable(original_params)
        if user_id is not None and row.user_id is None:
            row.user_id = user_id
        performance = {**(row.performance or {}), "status": RUNNING, "started_at": _now(), "error": None}
        if request is not None:
            performance["request"] = jsonable(request)
        row.performance = performance
        return row.id


def complete(url: str, optimization_id: int, *, optimized_params: dict[str, Any], performance: dict[str, Any],
             original_params: dict[str, Any] | None = None) -> Optimization:
    """Mark a job COMPLETED with its tuned parameters and results (merged into ``performance``)."""
    with session_scope(url) as session:
        row = _get_row(session, optimization_id)
        row.optimized_params = jsonable(optimized_params)
        if original_params is not None:
            row.original_params = jsonable(original_params)
        merged = {**(row.performance or {}), **jsonable(performance)}
        merged.update(status=COMPLETED, finished_at=_now(), error=None,
                      recommended=bool(performance.get("recommended", False)), applied=False)
        row.performance = merged
        return _view(row)


def fail(url: str, optimization_id: int, error: str) -> Optimization:
    """Mark a job FAILED with the reason (and an audit row ``tune.failed``)."""
    with session_scope(url) as session:
        row = _get_row(session, optimization_id)
        row.performance = {**(row.performance or {}), "status": FAILED, "finished_at": _now(),
                           "error": str(error)[:2000], "recommended": False, "applied": False}
        session.add(AuditLog(actor="system", action="tune.failed", target=f"strategy_optimization/{optimization_id}",
                             details={"error": str(error)[:500]}))
        return _view(row)

