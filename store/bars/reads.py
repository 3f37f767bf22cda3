"""Reading bars back: one stored series as a bars frame, and the rows and time span of every series."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import and_, func, select

from store.bars.columns import BAR_VALUES
from store.db import get_engine
from store.models import MarketBar


def read_bars(url: str, symbol: str, timeframe: str, start: datetime | None = None,
              end: datetime | None = None, last: int | None = None) -> pd.DataFrame:
    """Stored bars of one series as a bars frame (``ts`` index, float OHLCV), oldest first.

    Args:
        url: database URL.
        symbol: symbol, e.g. ``SP500``.
        timeframe: e.g. ``1d``.
        start: first timestamp to include.
        end: last timestamp to include.
        last: only the most recent ``last`` bars (within the range).
    """
    cond = [MarketBar.symbol == symbol, MarketBar.timeframe == timeframe]
    if start is not None:
        cond.append(MarketBar.ts >= start)
    if end is not None:
        cond.append(MarketBar.ts <= end)
    cols = [MarketBar.ts, MarketBar.open, MarketBar.high, MarketBar.low, MarketBar.close, MarketBar.volume]
    stmt = select(*cols).where(and_(*cond)).order_by(MarketBar.ts.desc() if last else MarketBar.ts)
    if last:
        stmt = stmt.limit(last)
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["ts", *BAR_VALUES])
    frame["ts"] = pd.to_datetime(frame["ts"])
    frame = frame.set_index("ts").sort_index().astype("float64")
    return frame


def bar_counts(url: str) -> pd.DataFrame:
    """Rows, first and last timestamp per (symbol, timeframe) in the store."""
    stmt = (
        select(MarketBar.symbol, MarketBar.timeframe, func.count().label("rows"),
               func.min(MarketBar.ts).label("first"), func.max(MarketBar.ts).label("last"))
        .group_by(MarketBar.symbol, MarketBar.timeframe)
        .order_by(MarketBar.symbol, MarketBar.timeframe)
    )
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    return pd.DataFrame(rows, columns=["symbol", "timeframe", "rows", "first", "last"])
