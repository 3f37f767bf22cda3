"""Private PostgreSQL databases for integration tests, on the machine's server (the server of
``DATABASE_URL`` when the suite runs on PostgreSQL), so the suite's own database is never touched."""

from __future__ import annotations

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_server_url() -> str:
    """A URL of the PostgreSQL server to create the test databases on."""
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgresql") else DEFAULT_PG


def fresh_database(name: str, driver: str | None = None) -> str:
    """(Re)create database ``name`` on the PostgreSQL server; its URL (with ``driver``, e.g. ``asyncpg``)."""
    admin = create_engine(pg_server_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = make_url(pg_server_url()).set(database=name)
    if driver:
        url = url.set(drivername=f"postgresql+{driver}")
    return url.render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    admin = create_engine(pg_server_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()
