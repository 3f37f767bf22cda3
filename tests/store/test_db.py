"""store.db: engine tuning of a long-lived writer and the "database unavailable" test, on real databases."""

import sqlite3
import time

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from store import db, predictions


def _sqlite(tmp_path, name: str) -> str:
    return f"sqlite:///{tmp_path / name}"


def _pragma(url: str, name: str):
    with db.get_engine(url).connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_relaxed_sqlite_connections_skip_the_commit_fsync(tmp_path):
    url = _sqlite(tmp_path, "relaxed.db")
    assert _pragma(url, "synchronous") == 2 and not db.is_relaxed(url)  # FULL: every commit fsyncs
    db.relax_durability(url)
    db.relax_durability(url)  # idempotent
    assert db.is_relaxed(url) and _pragma(url, "synchronous") == 1  # NORMAL, on the reopened pool
    assert _pragma(url, "journal_mode") == "wal"  # the engine's own pragmas stay


def test_relaxed_postgresql_writes_commit_without_waiting_for_the_flush(db_url):
    if make_url(db_url).get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL only (DATABASE_URL=postgresql+psycopg://...)")
    url = make_url(db_url).update_query_dict({"application_name": "abtpro-relaxed-test"}).render_as_string(False)
    with db.write(url) as conn:
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"
    db.relax_durability(url)
    with db.write(url) as conn:
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "off"  # SET LOCAL: this transaction
    with db.get_engine(url).connect() as conn:
        assert conn.execute(text("SHOW synchronous_commit")).scalar() == "on"


def test_background_checkpoints_move_the_wal_into_the_database_file(tmp_path):
    url = _sqlite(tmp_path, "wal.db")
    with db.get_engine(url).begin() as conn:
        conn.exec_driver_sql("CREATE TABLE blobs (id INTEGER PRIMARY KEY, payload BLOB)")
    thread = db.background_checkpoints(url, interval=0.05)
    assert thread is not None and thread.is_alive() and db.background_checkpoints(url) is thread
    assert _pragma(url, "wal_autocheckpoint") == 0  # no request pays for a checkpoint
    main = tmp_path / "wal.db"
    size = main.stat().st_size
    with db.get_engine(url).begin() as conn:
        conn.exec_driver_sql("INSERT INTO blobs (payload) VALUES " + ",".join(["(zeroblob(4096))"] * 500))
    deadline = time.monotonic() + 10
    while main.stat().st_size < size + 500 * 4096 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert main.stat().st_size >= size + 500 * 4096  # written back by the checkpoint thread
    raw = sqlite3.connect(main)
    assert raw.execute("SELECT count(*) FROM blobs").fetchone() == (500,)
    raw.close()


def test_background_checkpoints_only_run_on_sqlite(db_url, tmp_path):
    if make_url(db_url).get_backend_name() == "sqlite":
        db_url = "postgresql+psycopg://postgres@127.0.0.1:1/none"  # never connected to
    assert db.background_checkpoints(db_url) is None


def test_unreachable_databases_are_unavailable(tmp_path):
    refused = "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=3"
    not_a_file = f"sqlite:///{tmp_path}"  # a directory: SQLite cannot open it
    for url in (refused, not_a_file):
        with pytest.raises(db.DatabaseError) as caught:
            predictions.counts(url)
        assert db.is_unavailable(caught.value), url


def test_bad_statements_and_other_errors_are_not_unavailable(clean_db):
    incomplete = {"symbol": "SYN", "timeframe": "1d"}  # NOT NULL columns missing: an IntegrityError
    with pytest.raises(db.DatabaseError) as caught:
        predictions.save_volatility(clean_db, [incomplete])
    assert not db.is_unavailable(caught.value)
    assert not db.is_unavailable(ValueError("nope")) and not db.is_unavailable(ConnectionError("not the DB's"))
