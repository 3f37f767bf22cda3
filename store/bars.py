"""Bulk I/O of market bars and quarantined rows (Core statements, never row-by-row ORM adds)."""

from __future__ import annotations

import hashlib
import json
import math
import secrets
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.db import get_engine
from store.models import BarSeries, MarketBar, QuarantinedRow, utcnow

BAR_KEY = ["symbol", "timeframe", "ts"]
BAR_VALUES = ["open", "high", "low", "close", "volume"]
STORED_COLUMNS = [*BAR_KEY, *BAR_VALUES, "source"]


@dataclass(frozen=True)
class UpsertResult:
    """What an upsert did: rows new to the store and rows whose key already existed."""

    inserted: int
    merged: int


def _count(conn: Connection, symbols: list[str]) -> int:
    stmt = select(func.count()).select_from(MarketBar).where(MarketBar.symbol.in_(symbols))
    return int(conn.execute(stmt).scalar_one())


_UPDATE_SET = ", ".join(f"{c} = excluded.{c}" for c in [*BAR_VALUES, "source", "ingested_at"])
_INSERT_COLUMNS = ", ".join([*STORED_COLUMNS, "ingested_at"])


def _upsert_sqlite(conn: Connection, frame: pd.DataFrame, chunk_rows: int) -> None:
    """executemany of plain tuples on the DB-API cursor: the ORM/dict layer costs more than SQLite."""
    sql = (f"INSERT INTO market_bars ({_INSERT_COLUMNS}) VALUES ({', '.join('?' * (len(STORED_COLUMNS) + 1))})"
           f" ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET {_UPDATE_SET}")
    now = utcnow().isoformat(sep=" ")
    ts_text = frame["ts"].dt.strftime("%Y-%m-%d %H:%M:%S.%f")
    columns = [frame["symbol"], frame["timeframe"], ts_text, *(frame[c] for c in BAR_VALUES), frame["source"]]
    cursor = conn.connection.driver_connection.cursor()
    for start in range(0, len(frame), chunk_rows):
        stop = start + chunk_rows
        rows = zip(*(c.iloc[start:stop].tolist() for c in columns), [now] * len(ts_text.iloc[start:stop]))
        cursor.executemany(sql, rows)
    cursor.close()


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as header-less CSV, written by Arrow's C++ writer (several times faster than pandas)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    sink = pa.BufferOutputStream()
    pacsv.write_csv(pa.Table.from_pandas(frame, preserve_index=False), sink,
                    pacsv.WriteOptions(include_header=False))
    return sink.getvalue().to_pybytes()


def _upsert_postgresql(conn: Connection, frame: pd.DataFrame) -> None:
    """COPY into a temporary staging table, then one INSERT ... ON CONFLICT DO UPDATE."""
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS bars_stage (symbol text, timeframe text, ts timestamp, open float8,"
        " high float8, low float8, close float8, volume float8, source text) ON COMMIT DELETE ROWS"
    )
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        with cur.copy("COPY bars_stage FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(_csv_bytes(frame[STORED_COLUMNS]))
    conn.exec_driver_sql(
        f"INSERT INTO market_bars ({_INSERT_COLUMNS})"
        " SELECT symbol, timeframe, ts, open, high, low, close, volume, source, now() at time zone 'utc'"
        f" FROM bars_stage ON CONFLICT ON CONSTRAINT uq_market_bars_symbol_timeframe_ts DO UPDATE SET {_UPDATE_SET}"
    )


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


def quarantine_rows(url: str, rows: pd.DataFrame, source: str) -> int:
    """Store rows that failed a contract verbatim, each with its ``reason`` column, unless already stored.

    Each row is keyed by :func:`quarantine_keys`, so quarantining the same rows of the same source again
    (re-ingesting a bad file) adds nothing, while identical rows within one read are each kept.

    Returns:
        The number of rows newly added to the quarantine.
    """
    if rows.empty:
        return 0
    now = utcnow()
    raws, reasons = [], []
    for rec in rows.to_dict("records"):
        reasons.append(str(rec.pop("reason")))
        raws.append(jsonable_raw(rec))
    records = [{"row_key": key, "source": source, "symbol": _label(raw.get("symbol")), "raw": raw,
                "reason": reason, "created_at": now}
               for key, raw, reason in zip(quarantine_keys(source, raws), raws, reasons)]
    engine = get_engine(url)
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(QuarantinedRow).on_conflict_do_nothing(index_elements=["row_key"])
    count = select(func.count()).select_from(QuarantinedRow).where(QuarantinedRow.source == source)
    with engine.begin() as conn:
        before = int(conn.execute(count).scalar_one())
        conn.execute(stmt, records)
        return int(conn.execute(count).scalar_one()) - before


def quarantine_keys(source: str, raws: list[dict]) -> list[str]:
    """The stable key of each quarantined row: sha256 of its source, its raw values and its occurrence.

    Args:
        source: the source the rows were read from.
        raws: the JSON-ready raw values of each row, in read order.

    Returns:
        One hex digest per row; the n-th copy of an identical raw row gets occurrence n, so a read that
        repeats a bad row keeps every copy and a later read of the same rows maps onto the same keys.
    """
    seen: dict[str, int] = {}
    keys = []
    for raw in raws:
        text = json.dumps(raw, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)
        seen[text] = seen.get(text, 0) + 1
        keys.append(hashlib.sha256(f"{source}\n{text}\n{seen[text]}".encode()).hexdigest())
    return keys


def jsonable_raw(raw: dict) -> dict:
    """Raw cells as strict JSON values: missing -> None, non-finite floats and other objects -> text."""
    return {str(k): _jsonable(v) for k, v in raw.items()}


def _label(value: object) -> str | None:
    """A raw symbol as a bounded text column (PostgreSQL text refuses NUL)."""
    return None if value is None else str(value).replace("\x00", "")[:32]


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (pd.Timestamp, datetime)):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else (None if math.isnan(value) else str(value))
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return str(value)


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


def quarantine_count(url: str, source: str | None = None) -> int:
    """Quarantined rows in the store, optionally for one source."""
    stmt = select(func.count()).select_from(QuarantinedRow)
    if source is not None:
        stmt = stmt.where(QuarantinedRow.source == source)
    with get_engine(url).connect() as conn:
        return int(conn.execute(stmt).scalar_one())
