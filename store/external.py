"""Reads from databases that are not ours (the platform's own market-data tables): the SQL behind ``ingest``."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import (
    DateTime,
    String,
    and_,
    column,
    create_engine,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    text,
)
from sqlalchemy import table as table_clause

BAR_FIELDS = ("open", "high", "low", "close", "volume")


def read_query(url: str, query: str, params: dict | None = None) -> pd.DataFrame:
    """The rows of ``query`` (bound ``params``) on any SQLAlchemy URL, as a frame; the engine is disposed after."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return pd.read_sql(text(query), conn, params=params)
    finally:
        engine.dispose()


def read_since(url: str, table: str, ts_column: str, value_columns: dict[str, str],
               symbol_column: str | None = None, timeframe_column: str | None = None,
               since: dict[tuple[str, str], datetime] | None = None, schema: str | None = None) -> pd.DataFrame:
    """The rows of a bar table newer than the watermark of their series; series without one are read whole.

    The statement is built with SQLAlchemy Core: identifiers are quoted by the dialect, watermarks are bound
    parameters. A row is skipped only when it matches a watermarked series and ``ts <= watermark``, so rows
    with a NULL key or timestamp are read (and quarantined by the contract), never lost. PostgreSQL sessions
    run in UTC, so ``timestamptz`` columns compare with the naive-UTC watermarks as stored.

    Args:
        url: SQLAlchemy URL of the other database.
        table, schema: the table (and its schema, if any).
        ts_column: bar timestamp column.
        value_columns: ``open .. volume`` -> column names.
        symbol_column, timeframe_column: key columns (None: the key part is fixed by the caller).
        since: (symbol, timeframe) -> watermark; a key part without its column is ignored.

    Returns:
        Columns ``ts``, ``open .. volume`` plus ``symbol`` / ``timeframe`` when those columns were given.
    """
    ts = column(ts_column)  # untyped: values come back as the driver returns them, for the contract to parse
    sym = column(symbol_column, String) if symbol_column else None
    tf = column(timeframe_column, String) if timeframe_column else None
    values = [column(value_columns[f]) for f in BAR_FIELDS]
    keys = [c for c in (sym, tf) if c is not None]
    source = table_clause(table, ts, *keys, *values, schema=schema)
    picked = [ts.label("ts"), *(c.label(f) for c, f in zip(values, BAR_FIELDS, strict=True))]
    if sym is not None:
        picked.append(sym.label("symbol"))
    if tf is not None:
        picked.append(tf.label("timeframe"))
    stmt = select(*picked).select_from(source)
    covered = []
    for (symbol, timeframe), mark in (since or {}).items():
        parts = [ts <= literal(mark, DateTime)]
        if sym is not None:
            parts.append(sym == symbol)
        if tf is not None:
            parts.append(tf == timeframe)
        covered.append(and_(*parts))
    if covered:
        stmt = stmt.where(not_(func.coalesce(or_(*covered), false())))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET TIME ZONE 'UTC'")
            return pd.read_sql(stmt, conn)
    finally:
        engine.dispose()
