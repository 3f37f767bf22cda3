from datetime import datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import inspect

from store import bars as store_bars
from store import migrate
from store.db import get_engine
from tests.conftest import empty_tables

SPEC_TABLES = {"users", "market_bars", "quarantine", "audit_log", "ml_signal_scores", "ml_model_trainings",
               "strategy_optimizations", "volatility_predictions"}


def _tables(url: str) -> set[str]:
    return set(inspect(get_engine(url)).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(db_url):
    """Runs on the session database: SQLite by default, PostgreSQL when DATABASE_URL points there."""
    migrate.upgrade(db_url, "head")
    assert SPEC_TABLES <= _tables(db_url)
    migrate.downgrade(db_url, "base")
    assert not (SPEC_TABLES & _tables(db_url))
    assert migrate.current(db_url) is None
    migrate.upgrade(db_url, "head")
    assert SPEC_TABLES <= _tables(db_url)
    assert migrate.current(db_url) is not None


def test_unique_key_on_market_bars(db_url):
    uniques = inspect(get_engine(db_url)).get_unique_constraints("market_bars")
    assert any(sorted(u["column_names"]) == ["symbol", "timeframe", "ts"] for u in uniques)


def _quarantine_table(url: str) -> sa.Table:
    return sa.Table("quarantine", sa.MetaData(), autoload_with=get_engine(url))


def test_0003_keys_quarantine_and_drops_repeats_of_a_re_ingest(db_url):
    """Two reads of one bad file (rows A, A, B each), then a third of another source: the repeats go."""
    migrate.downgrade(db_url, "0002")
    try:
        table = _quarantine_table(db_url)
        assert "row_key" not in table.c
        a, b = {"symbol": "X", "open": "inf", "close": 1.0}, {"symbol": "X", "open": "n/a", "close": None}
        rows = []
        for source, when in [("file:a.csv", datetime(2026, 1, 1)), ("file:a.csv", datetime(2026, 1, 2)),
                             ("file:b.csv", datetime(2026, 1, 2))]:
            rows += [{"source": source, "symbol": "X", "raw": raw, "reason": "bad", "created_at": when}
                     for raw in (a, a, b)]
        with get_engine(db_url).begin() as conn:
            conn.execute(table.delete())
            conn.execute(table.insert(), rows)
        migrate.upgrade(db_url, "0003")
        table = _quarantine_table(db_url)
        with get_engine(db_url).connect() as conn:
            kept = conn.execute(sa.select(table.c.source, table.c.row_key, table.c.created_at)
                                .order_by(table.c.id)).all()
        assert [r.source for r in kept] == ["file:a.csv"] * 3 + ["file:b.csv"] * 3
        assert all(r.created_at == datetime(2026, 1, 1) for r in kept[:3])
        assert [r.row_key for r in kept[:3]] == store_bars.quarantine_keys("file:a.csv", [a, a, b])
        uniques = inspect(get_engine(db_url)).get_unique_constraints("quarantine")
        assert any(u["column_names"] == ["row_key"] for u in uniques)
        # a re-ingest after the migration maps onto the migrated keys
        again = pd.DataFrame([{**a, "reason": "bad"}, {**a, "reason": "bad"}, {**b, "reason": "bad"}])
        migrate.upgrade(db_url, "head")
        assert store_bars.quarantine_rows(db_url, again, "file:a.csv") == 0
        migrate.downgrade(db_url, "0002")
        assert "row_key" not in _quarantine_table(db_url).c
        with get_engine(db_url).connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM quarantine")).scalar_one() == 6
    finally:
        migrate.upgrade(db_url, "head")
        empty_tables(db_url)
