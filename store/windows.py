"""Bar windows for the request path: the stored bars an answer is computed from, as plain tuples.

No pandas here: this runs on every API request, and building a frame costs more than the query (the
caller builds one only on a cache miss). Timestamps are naive UTC, like the stored ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select

from store.db import get_engine
from store.models import MarketBar

_BAR_COLS = (MarketBar.ts, MarketBar.open, MarketBar.high, MarketBar.low, MarketBar.close, MarketBar.volume)


class NoBarsError(LookupError):
    """No stored bars of (symbol, timeframe) at all (``before`` None), or none at or before ``before``."""

    def __init__(self, symbol: str, timeframe: str, before: datetime | None):
        where = "" if before is None else f" at or before {before.isoformat()}"
        super().__init__(f"no {timeframe} bars of {symbol!r}{where}")
        self.symbol, self.timeframe, self.before = symbol, timeframe, before


def bar_rows(url: str, symbol: str, timeframe: str, start: datetime | None = None, end: datetime | None = None,
             last: int | None = None) -> list[tuple]:
    """Stored bars ``(ts, open, high, low, close, volume)`` in ``[start, end]``, oldest first; with ``last``,
    only the newest ``last`` of them."""
    cond = [MarketBar.symbol == symbol, MarketBar.timeframe == timeframe]
    if start is not None:
        cond.append(MarketBar.ts >= start)
    if end is not None:
        cond.append(MarketBar.ts <= end)
    stmt = select(*_BAR_COLS).where(*cond).order_by(MarketBar.ts.desc() if last else MarketBar.ts)
    if last:
        stmt = stmt.limit(last)
    with get_engine(url).connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt).all()]
    if last:
        rows.reverse()
    return rows


def start_for(url: str, symbol: str, timeframe: str, origin: datetime, n: int) -> datetime | None:
    """Timestamp of the ``n``-th bar at or before ``origin`` (None: fewer bars than that)."""
    stmt = (select(MarketBar.ts).where(MarketBar.symbol == symbol, MarketBar.timeframe == timeframe,
                                       MarketBar.ts <= origin)
            .order_by(MarketBar.ts.desc()).limit(n))
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).scalars().all()
    return rows[-1] if rows else None


def window_rows(url: str, symbol: str, timeframe: str, origins: Sequence[datetime | None], n: int) -> list[tuple]:
    """Stored bars covering ``n`` bars up to each origin (naive UTC; None = the latest bar), oldest first.

    Raises:
        NoBarsError: no stored bars of (symbol, timeframe) (``before`` None), or none at or before the
            earliest origin (``before`` set).
    """
    explicit = [o for o in origins if o is not None]
    end = max(explicit) if explicit and len(explicit) == len(origins) else None
    if not explicit or (end is not None and min(explicit) == end):
        rows = bar_rows(url, symbol, timeframe, None, end, n)
    else:
        start = start_for(url, symbol, timeframe, min(explicit), n)
        rows = bar_rows(url, symbol, timeframe, start, end, None)
    if not rows:
        if end is not None and bar_rows(url, symbol, timeframe, None, None, 1):
            raise NoBarsError(symbol, timeframe, min(explicit))
        raise NoBarsError(symbol, timeframe, None)
    return rows
