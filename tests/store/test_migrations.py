from sqlalchemy import inspect

from store import migrate
from store.db import get_engine

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
