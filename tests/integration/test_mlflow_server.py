"""The volatility pipeline against a real ``mlflow server`` process on 127.0.0.1.

The server's backend store is SQLite in a temp dir, or a fresh PostgreSQL database when the suite runs
on PostgreSQL (``DATABASE_URL``), as in production; artifacts are proxied by the server.
"""

import os

import mlflow
import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

import registry
from abtpro import supervisor
from flows.ingest import ingest
from flows.volatility import volatility_pipeline
from store.bars import read_bars

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _backend_store(tmp_path) -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return f"sqlite:///{tmp_path / 'mlflow-backend.db'}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS abtpro_mlflow_it WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE abtpro_mlflow_it"))
    admin.dispose()
    return make_url(url).set(database="abtpro_mlflow_it").render_as_string(hide_password=False)


@pytest.fixture
def mlflow_server(tmp_path, monkeypatch):
    port = supervisor.free_port()
    server = supervisor.mlflow_server(_backend_store(tmp_path), (tmp_path / "artifacts").as_uri(), port)
    proc = supervisor.start(server, tmp_path / "run", timeout=180)
    monkeypatch.setenv("ABTPRO_MLFLOW_TRACKING_URI", server.url)
    yield server.url
    if proc is not None:
        supervisor.stop_process(proc)


def test_register_and_load_champion_through_the_server(mlflow_server, clean_db, prefect_harness):
    ingest(source="sample", symbol="GOOG")
    result = volatility_pipeline(symbols=["GOOG"], candidates=["garch_t", "har_gk_log"], refit_every=126)
    assert result.promoted and result.version == "1"

    mlflow.set_tracking_uri(mlflow_server)
    pyfunc = mlflow.pyfunc.load_model(f"models:/{registry.VOLATILITY_MODEL}@{registry.CHAMPION}")
    bars = read_bars(clean_db, "GOOG", "1d", last=300).reset_index().assign(symbol="GOOG")
    prediction = pyfunc.predict(bars[["symbol", "ts", "open", "high", "low", "close", "volume"]])
    assert isinstance(prediction, pd.DataFrame) and len(prediction) == 300
    last = prediction.iloc[-1]
    assert 0 < last["lower"] < last["forecast"] < last["upper"]
    version = mlflow.MlflowClient().get_model_version_by_alias(registry.VOLATILITY_MODEL, registry.CHAMPION)
    assert str(version.version) == "1" and version.tags["data_digest"]
