"""Shared fixtures: one database per session (SQLite by default, PostgreSQL when DATABASE_URL says so),
one Prefect test harness per session, and a clean store per test that asks for it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from abtpro.settings import apply_offline_env

apply_offline_env()

DB_FREE_DIRS = ("ml",)  # ml/ is pure (tests/test_layers.py): its tests never open the app database


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the tests of the pure packages ``db_free``: they cannot behave differently on another database, so
    the PostgreSQL pass of ``make test`` skips them (the SQLite pass runs everything)."""
    root = Path(__file__).parent
    for item in items:
        parts = Path(str(item.path)).resolve().relative_to(root).parts
        if parts and parts[0] in DB_FREE_DIRS:
            item.add_marker(pytest.mark.db_free)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("abtpro-data")
    os.environ["ABTPRO_DATA_DIR"] = str(path)
    return path


@pytest.fixture(scope="session")
def db_url(data_dir: Path) -> str:
    """The session database, migrated to head from scratch."""
    from store import migrate

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'test.db'}"
    os.environ["DATABASE_URL"] = url
    migrate.downgrade(url, "base")
    migrate.upgrade(url, "head")
    return url


def empty_tables(url: str) -> None:
    """Delete every row of every table of the app database."""
    from store.db import get_engine
    from store.models import Base

    with get_engine(url).begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def clean_db(db_url: str) -> str:
    """The session database with every table emptied."""
    empty_tables(db_url)
    return db_url


@pytest.fixture(scope="module")
def goog_store(tmp_path_factory: pytest.TempPathFactory, prefect_harness, db_url: str):
    """For a test module: an emptied app database holding the bundled GOOG bars, and a fresh MLflow store."""
    from flows.ingest import ingest

    empty_tables(db_url)
    store = tmp_path_factory.mktemp("mlflow")
    os.environ["ABTPRO_MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    ingest(source="sample", symbol="GOOG")
    yield db_url
    os.environ.pop("ABTPRO_MLFLOW_TRACKING_URI", None)


@pytest.fixture(scope="session")
def prefect_harness(data_dir: Path):
    """One temporary Prefect server for the whole session; the kept Prefect fixes installed, as the entry points do."""
    from prefect.testing.utilities import prefect_test_harness

    from flows import patches

    patches.install()
    with prefect_test_harness(server_startup_timeout=120):
        yield
