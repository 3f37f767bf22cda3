"""Data time: the bars stored between two bar timestamps and the series ingested since a wall-clock time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from store.db import get_engine
from store.models import MarketBar


def bars_between(url: str, symbols: list[str], timeframe: str, after: datetime | None,
                 upto: datetime | None) -> int:
    """Bars of data time of ``symbols``/``timeframe`` with ``after < ts <= upto`` (distinct bar timestamps).

    The unit of the data-time cooldown and of the spacing of monitoring passes; 0 when either bound is None."""
    if after is None or upto is None or not symbols:
        return 0
    b = MarketBar
    stmt = select(func.count(func.distinct(b.ts))).where(
        b.symbol.in_(list(symbols)), b.timeframe == timeframe, b.ts > after, b.ts <= upto)
    with get_engine(url).connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def series_ingested_since(url: str, since: datetime) -> tuple[list[str], list[str]]:
    """Symbols and timeframes with bars stored (inserted or changed) at or after ``since`` (wall clock)."""
    b = MarketBar
    stmt = select(b.symbol, b.timeframe).where(b.ingested_at >= since).distinct()
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    return sorted({r.symbol for r in rows}), sorted({r.timeframe for r in rows})

