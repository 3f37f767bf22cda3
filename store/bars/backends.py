"""Each backend's bulk upsert: executemany of tuples on SQLite, COPY into a staging table on PostgreSQL."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Connection

from store.bars.columns import BAR_VALUES, STORED_COLUMNS
from store.models import utcnow

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
