"""Apply and unapply: one active row per (strategy, symbol, timeframe), the series locked, audited in the same
transaction."""

from __future__ import annotations

from sqlalchemy import false, update

from store.db import session_scope
from store.models import AuditLog, StrategyOptimization
from store.optimizations.queries import _same_series
from store.optimizations.record import COMPLETED, ApplyRefused, Optimization
from store.optimizations.rows import _get_row, _now, _view, jsonable


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

