"""Strategy-tuning results (``StrategyOptimization`` rows): job lifecycle, queries and "apply".

The table has no status or "active" columns, so both live in the ``performance`` JSON:

- ``performance["status"]``: ``PENDING`` (queued by the API) -> ``RUNNING`` -> ``COMPLETED`` | ``FAILED``,
  with ``started_at`` / ``finished_at`` (ISO strings) and ``error`` on failure;
- ``performance["recommended"]``: the walk-forward gate (tuned beats defaults out of sample, safely);
- ``performance["applied"]`` (bool) with ``applied_at`` / ``applied_by``: at most one row per
  (strategy, symbol, timeframe) is applied; its ``optimized_params`` are that strategy's active
  parameters there. A superseded row keeps ``applied = False`` and gets ``superseded_at``/``superseded_by``.

Every function takes the database URL and returns plain :class:`Optimization` records (no ORM
objects leak out of the session). JSON payloads are sanitised (numpy scalars, timestamps, NaN/inf ->
None) so PostgreSQL's ``json`` type accepts them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import false, select, update

from store.db import session_scope
from store.models import AuditLog, StrategyOptimization, utcnow

PENDING, RUNNING, COMPLETED, FAILED = "PENDING", "RUNNING", "COMPLETED", "FAILED"
STATUSES = (PENDING, RUNNING, COMPLETED, FAILED)


class ApplyRefused(ValueError):
    """The optimization cannot be applied (not completed, or not recommended without ``force``)."""


@dataclass(frozen=True)
class Optimization:
    """A read-only view of one ``StrategyOptimization`` row."""

    id: int
    user_id: int | None
    strategy: str
    symbol: str | None
    timeframe: str | None
    method: str
    original_params: dict[str, Any]
    optimized_params: dict[str, Any]
    performance: dict[str, Any]
    created_at: datetime

    @property
    def status(self) -> str:
        """PENDING, RUNNING, COMPLETED or FAILED."""
        return str(self.performance.get("status", COMPLETED))

    @property
    def recommended(self) -> bool:
        """Whether the walk-forward gate recommends the tuned parameters."""
        return bool(self.performance.get("recommended", False))

    @property
    def applied(self) -> bool:
        """Whether these are the active parameters of (strategy, symbol, timeframe)."""
        return bool(self.performance.get("applied", False))

    @property
    def error(self) -> str | None:
        """Why the job failed (None unless FAILED)."""
        return self.performance.get("error")


def jsonable(value: Any) -> Any:
    """``value`` made strict-JSON safe: numpy scalars -> Python, timestamps -> ISO, NaN/inf -> None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)) and getattr(value, "ndim", 0) == 0:
        value = value.item()  # numpy / pandas scalars
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    return str(value)


def _view(row: StrategyOptimization) -> Optimization:
    return Optimization(row.id, row.user_id, row.strategy, row.symbol, row.timeframe, row.method,
                        dict(row.original_params or {}), dict(row.optimized_params or {}),
                        dict(row.performance or {}), row.created_at)


def _now() -> str:
    return utcnow().isoformat()


def _get_row(session, optimization_id: int) -> StrategyOptimization:
    row = session.get(StrategyOptimization, optimization_id)
    if row is None:
        raise KeyError(f"no StrategyOptimization row with id {optimization_id}")
    return row


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


def get(url: str, optimization_id: int) -> Optimization | None:
    """One optimization by id (None when it does not exist)."""
    with session_scope(url) as session:
        row = session.get(StrategyOptimization, optimization_id)
        return None if row is None else _view(row)


def list_optimizations(url: str, *, strategy: str | None = None, symbol: str | None = None,
                       timeframe: str | None = None, user_id: int | None = None, method: str | None = None,
                       status: str | None = None, applied: bool | None = None, limit: int = 100,
                       offset: int = 0) -> list[Optimization]:
    """Optimizations matching every given filter, newest first.

    ``status`` and ``applied`` are read from the ``performance`` JSON (works on SQLite and PostgreSQL).
    """
    query = select(StrategyOptimization)
    for column, value in ((StrategyOptimization.strategy, strategy), (StrategyOptimization.symbol, symbol),
                          (StrategyOptimization.timeframe, timeframe), (StrategyOptimization.user_id, user_id),
                          (StrategyOptimization.method, method.upper() if method else None)):
        if value is not None:
            query = query.where(column == value)
    if status is not None:
        query = query.where(StrategyOptimization.performance["status"].as_string() == status)
    if applied is not None:
        flag = StrategyOptimization.performance["applied"].as_boolean()
        query = query.where(flag.is_(True) if applied else flag.is_not(True))
    query = query.order_by(StrategyOptimization.created_at.desc(), StrategyOptimization.id.desc())
    with session_scope(url) as session:
        rows = session.execute(query.limit(limit).offset(offset)).scalars().all()
        return [_view(row) for row in rows]


def _same_series(strategy: str, symbol: str | None, timeframe: str | None):
    return (select(StrategyOptimization)
            .where(StrategyOptimization.strategy == strategy)
            .where(StrategyOptimization.symbol.is_(None) if symbol is None else StrategyOptimization.symbol == symbol)
            .where(StrategyOptimization.timeframe.is_(None) if timeframe is None
                   else StrategyOptimization.timeframe == timeframe))


def _lock_series(session, strategy: str, symbol: str | None, timeframe: str | None) -> list[StrategyOptimization]:
    """The rows of one series, locked until the transaction ends and re-read after the lock.

    PostgreSQL: ``SELECT ... ORDER BY id FOR UPDATE`` (a concurrent apply waits, then sees the committed rows).
    SQLite has no row locks, and pysqlite runs SELECTs outside the transaction until the first
    write; a no-op UPDATE first takes the database write lock (like ``BEGIN IMMEDIATE``), so the
    reads that follow see every apply committed before it.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(StrategyOptimization).where(false()).values(strategy=StrategyOptimization.strategy))
    # locked in id order: every apply takes the series' row locks in the same order, so two never deadlock
    # (an unordered scan can meet updated rows in a different order in each transaction)
    query = (_same_series(strategy, symbol, timeframe).order_by(StrategyOptimization.id).with_for_update()
             .execution_options(populate_existing=True))
    return list(session.execute(query).scalars())


def apply(url: str, optimization_id: int, actor: str, *, force: bool = False) -> Optimization:
    """Make a COMPLETED result the active parameters of its (strategy, symbol, timeframe).

    Any previously applied row of the same series is superseded in the same transaction (the
    series is locked first, see :func:`_lock_series`, so concurrent applies serialise), and the
    change is written to the audit log (action ``apply``, the same ``AuditLog`` rows as
    :func:`store.records.audit`) in that transaction too.

    Raises:
        KeyError: no such optimization.
        ApplyRefused: the job is not COMPLETED, or its result is not ``recommended`` and ``force`` is False.
    """
    with session_scope(url) as session:
        row = _get_row(session, optimization_id)
        series = _lock_series(session, row.strategy, row.symbol, row.timeframe)  # refreshes ``row`` too
        performance = row.performance or {}
        if performance.get("status", COMPLETED) != COMPLETED:
            raise ApplyRefused(f"optimization {optimization_id} is {performance.get('status')}, not COMPLETED")
        if not performance.get("recommended", False) and not force:
            raise ApplyRefused(f"optimization {optimization_id} is not recommended (the tuned parameters did not "
                               "beat the defaults out of sample safely); pass force=True to apply it anyway")
        superseded = []
        for other in series:
            if other.id != row.id and (other.performance or {}).get("applied"):
                other.performance = {**other.performance, "applied": False, "superseded_at": _now(),
                                     "superseded_by": row.id}
                superseded.append(other.id)
        forced = bool(force and not performance.get("recommended", False))
        row.performance = {**performance, "applied": True, "applied_at": _now(), "applied_by": actor,
                           "forced": forced}
        # same transaction as the change: an apply is never committed without its audit row
        session.add(AuditLog(actor=actor, action="apply", target=f"strategy_optimization/{optimization_id}",
                             details=jsonable({"strategy": row.strategy, "symbol": row.symbol,
                                               "timeframe": row.timeframe, "params": row.optimized_params,
                                               "recommended": bool(performance.get("recommended", False)),
                                               "forced": forced, "superseded": superseded})))
        return _view(row)


def unapply(url: str, strategy: str, symbol: str | None, timeframe: str | None, actor: str) -> int | None:
    """Revert (strategy, symbol, timeframe) to the strategy's defaults; returns the row that was active."""
    with session_scope(url) as session:
        reverted = None
        for row in _lock_series(session, strategy, symbol, timeframe):
            if (row.performance or {}).get("applied"):
                row.performance = {**row.performance, "applied": False, "unapplied_at": _now(), "unapplied_by": actor}
                reverted = row.id
        if reverted is not None:
            session.add(AuditLog(actor=actor, action="unapply", target=f"strategy_optimization/{reverted}",
                                 details={"strategy": strategy, "symbol": symbol, "timeframe": timeframe}))
        return reverted


def active(url: str, strategy: str, symbol: str | None, timeframe: str | None) -> Optimization | None:
    """The applied optimization of (strategy, symbol, timeframe), if any."""
    query = _same_series(strategy, symbol, timeframe).where(
        StrategyOptimization.performance["applied"].as_boolean().is_(True))
    with session_scope(url) as session:
        row = session.execute(query.order_by(StrategyOptimization.id.desc()).limit(1)).scalars().first()
        return None if row is None else _view(row)


def active_params(url: str, strategy: str, symbol: str | None, timeframe: str | None) -> dict[str, Any] | None:
    """The active parameters of (strategy, symbol, timeframe); None means "use the strategy's defaults"."""
    found = active(url, strategy, symbol, timeframe)
    return None if found is None else dict(found.optimized_params)
