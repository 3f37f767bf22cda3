"""The queries: one optimization, filtered lists, the series' rows and the applied (active) result."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from store.db import session_scope
from store.models import StrategyOptimization
from store.optimizations.record import Optimization
from store.optimizations.rows import _view


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

