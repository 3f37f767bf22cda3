"""Fixtures of the serving tests: a throw-away MLflow registry with real small models, a store with
bars and three users, and a BentoML service app driven through ``Service.to_asgi()``."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.serving import support

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")


@pytest.fixture(scope="package")
def registry_store(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """MLflow store (sqlite under tmp) with volatility v1 (HAR) and v2 (XGB) and signal v1; champions v1."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    versions = support.register_all(uri, root / "artifacts")
    return {"uri": uri, "versions": versions, "root": root}


@pytest.fixture
def store(clean_db: str) -> str:
    """Clean app database with bars of SYN and SYN2 and users alice, bob (plain) and admin."""
    support.populate_store(clean_db)
    return clean_db


def headers(user: str) -> dict[str, str]:
    return {"X-API-Key": support.KEYS[user]}


def make_client(env: dict[str, str]):
    """A context manager yielding a TestClient over a fresh service app with ``env`` applied."""
    from contextlib import contextmanager

    from starlette.testclient import TestClient

    @contextmanager
    def run() -> Iterator[TestClient]:
        _forget_http_metrics()
        with support.EnvPatch(env):
            from serving.service import MLService

            with TestClient(MLService.to_asgi()) as client:
                yield client

    return run()


@pytest.fixture(scope="module")
def client(registry_store: dict, db_url: str):
    """One running service (startup loads the champions) per test module."""
    with make_client(support.service_env(registry_store["uri"])) as c:
        yield c


def _forget_http_metrics() -> None:
    """BentoML registers its HTTP metrics per app instance; a second app in one process would clash."""
    from prometheus_client import REGISTRY

    for collector, names in list(REGISTRY._collector_to_names.items()):
        if any(n.startswith("abtpro_") and not n.startswith("abtpro_predictions") for n in names):
            REGISTRY.unregister(collector)
