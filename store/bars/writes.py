"""Writing bars: :func:`upsert_bars` in one transaction with a new series revision, and the naive baseline."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.bars.backends import _upsert_postgresql, _upsert_sqlite
from store.bars.columns import STORED_COLUMNS
from store.db import get_engine
from store.models import BarSeries, MarketBar, utcnow


@dataclass(frozen=True)
class UpsertResult:
    """What an upsert did: rows new to the store and rows whose key already existed."""

    inserted: int
    merged: int


def _count(conn: Connection, symbols: list[str]) -> int:
    stmt = select(func.count()).select_from(MarketBar).where(MarketBar.symbol.in_(symbols))
    return int(conn.execute(stmt).scalar_one())


def touch_series(conn: Connection, frame: pd.DataFrame) -> None:
    """Give every (symbol, timeframe) of ``frame`` a new random revision (:class:`store.models.BarSeries`), in the
    transaction that writes its bars: readers that cached the series see the change with one key lookup."""
    pairs = frame[["symbol", "timeframe"]].drop_duplicates().itertuples(index=False)
    now = utcnow()
    values = [{"symbol": s, "timeframe": t, "revision": secrets.randbits(62), "updated_at": now} for s, t in pairs]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(BarSeries).values(values)
    conn.execute(stmt.on_conflict_do_update(index_elements=["symbol", "timeframe"],
                                            set_={"revision": stmt.excluded.revision,
                                                  "updated_at": stmt.excluded.updated_at}))


def upsert_bars(url: str, frame: pd.DataFrame, chunk_rows: int = 50_000) -> UpsertResult:
    """Insert new bars and merge bars whose (symbol, timeframe, ts) already exists, in one transaction.

    Args:
        url: database URL.
        frame: long frame with columns ``symbol, timeframe, ts, open, high, low, close, volume, source``;
            keys must be unique within the frame (the data contract guarantees it).
        chunk_rows: rows per executemany batch on backends without COPY.

    Returns:
        Counts of inserted and merged rows: re-ingesting the same data inserts zero.
    """
    if frame.empty:
        return UpsertResult(0, 0)
    frame = frame[STORED_COLUMNS]
    symbols = sorted(frame["symbol"].unique().tolist())
    engine = get_engine(url)
    with engine.begin() as conn:
        before = _count(conn, symbols)
        if engine.dialect.name == "postgresql":
            _upsert_postgresql(conn, frame)
        else:
            _upsert_sqlite(conn, frame, chunk_rows)
        inserted = _count(conn, symbols) - before
        touch_series(conn, frame)
    return UpsertResult(inserted=inserted, merged=len(frame) - inserted)


def insert_bars_row_by_row(url: str, frame: pd.DataFrame) -> int:
    """The naive write path, one ORM add and flush per row: kept only as the ingest benchmark's baseline.

    Args:
        url: database URL.
        frame: bars with the columns of :data:`STORED_COLUMNS`, none of whose keys is stored yet.

    Returns:
        The number of rows written.
    """
    with Session(get_engine(url)) as session:
        for rec in frame[STORED_COLUMNS].to_dict("records"):
            session.add(MarketBar(**rec))
            session.flush()
        touch_series(session.connection(), frame)
        session.commit()
    return len(frame)
