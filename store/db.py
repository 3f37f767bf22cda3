"""Engines and sessions for the one ``DATABASE_URL``, the tuning a long-lived writer applies to its engine,
and the test that tells "the database cannot be reached" from every other database error.

Durability (see :func:`relax_durability`): a commit that waits for an fsync costs 1-10 ms on ordinary
disks, more than a whole warm API request. With relaxed durability the process runs SQLite connections
with ``PRAGMA synchronous=NORMAL`` (in WAL mode the database can never be corrupted; an OS crash or power
loss may drop the last commits) and the PostgreSQL transactions of :func:`write` with
``SET LOCAL synchronous_commit TO OFF`` (same guarantee, only for those transactions).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

#: Base class of every error the database driver raised (what a caller catches to inspect with
#: :func:`is_unavailable`).
DatabaseError = DBAPIError

_RELAXED: set[str] = set()
_CHECKPOINTERS: dict[str, threading.Thread] = {}


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One pooled engine per URL; SQLite gets WAL mode and foreign keys on."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database:
            from pathlib import Path

            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A transactional session: commit on success, roll back on error."""
    factory = sessionmaker(get_engine(url), expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


def is_unavailable(exc: BaseException) -> bool:
    """True for errors meaning "cannot talk to the database" (down, restarting, refusing connections or
    having dropped ours), as opposed to a bad statement or bad data (a constraint violation is False).

    The engine's pool (``pool_pre_ping``) replaces dead connections on the next checkout, so a caller that
    answers "retry later" recovers by itself once the database is back.
    """
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def _on_connect(engine: Engine, pragma: str) -> None:
    """Run ``pragma`` on every new SQLite connection of ``engine`` and reopen the pooled ones."""
    @event.listens_for(engine, "connect")
    def _pragma(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - trivial
        cursor = dbapi_conn.cursor()
        cursor.execute(pragma)
        cursor.close()

    engine.dispose()  # pooled connections reopen with the pragma


def relax_durability(url: str) -> None:
    """Use relaxed commit durability for this process's writes to ``url`` (see the module docstring)."""
    if url in _RELAXED:
        return
    _RELAXED.add(url)
    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        _on_connect(engine, "PRAGMA synchronous=NORMAL")


def is_relaxed(url: str) -> bool:
    """Whether :func:`relax_durability` was called for ``url`` in this process."""
    return url in _RELAXED


@contextmanager
def write(url: str) -> Iterator[Connection]:
    """A connection in a transaction for a write; PostgreSQL skips the commit fsync when durability is relaxed."""
    with get_engine(url).begin() as conn:
        if url in _RELAXED and conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        yield conn


def background_checkpoints(url: str, interval: float = 1.0) -> threading.Thread | None:
    """SQLite only: move WAL checkpoints off the request path; returns the checkpoint thread (None elsewhere).

    By default the commit that pushes the WAL past 1,000 pages runs the checkpoint itself (copy
    to the database file + fsync), a stall of one request that every concurrent writer then waits
    for. Here the process's connections turn auto-checkpointing off and a daemon thread runs
    ``PRAGMA wal_checkpoint(PASSIVE)`` every ``interval`` seconds (PASSIVE never waits for readers
    or writers; SQLite releases the GIL while it does the I/O). Other processes writing the same
    file keep their own auto-checkpoints.
    """
    engine = get_engine(url)
    if engine.dialect.name != "sqlite":
        return None
    if url in _CHECKPOINTERS:
        return _CHECKPOINTERS[url]
    _on_connect(engine, "PRAGMA wal_autocheckpoint=0")

    def run() -> None:
        while True:
            time.sleep(interval)
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # noqa: BLE001, S112 - a busy or missing file is retried next time
                continue

    thread = threading.Thread(target=run, name="abtpro-sqlite-checkpoint", daemon=True)
    _CHECKPOINTERS[url] = thread
    thread.start()
    return thread


def redact_url(url: str) -> str:
    """``url`` with its password masked, fit to print."""
    return make_url(url).render_as_string(hide_password=True)
