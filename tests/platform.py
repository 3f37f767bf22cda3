"""A database standing in for the trading platform's own (the SQL source's side): a SQLite file, or a private
PostgreSQL database on the machine's server (tests using it are marked ``own_postgres``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine

KINDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.own_postgres)]


@contextmanager
def platform_database(kind: str, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty platform database of ``kind`` (skips the test without a PostgreSQL server)."""
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'platform.db'}"
        return
    from tests.integration.pg import drop_database, fresh_database

    name = f"abtpro_platform_{os.getpid()}"
    try:
        url = fresh_database(name)
    except Exception as err:  # noqa: BLE001 - no PostgreSQL server on this machine
        pytest.skip(f"PostgreSQL not reachable: {err}")
    try:
        yield url
    finally:
        drop_database(name)


def append_rows(url: str, frame: pd.DataFrame, table: str = "market_data", ts: str = "ts") -> None:
    """Append ``frame`` to the platform table (created on first use; ``ts`` is timestamptz on PostgreSQL)."""
    frame = frame.copy()
    if url.startswith("postgresql"):
        frame[ts] = frame[ts].dt.tz_localize("UTC")
    engine = create_engine(url)
    frame.to_sql(table, engine, index=False, if_exists="append")
    engine.dispose()
