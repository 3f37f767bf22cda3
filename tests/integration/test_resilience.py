"""Resilience (issue 8 item 5), each against real processes:

(a) a crashed ingestion (SIGKILL mid-run) re-runs to exactly the expected rows, no duplicates;
(b) the MLflow server down during registration: the flow fails clearly after its retries, and after the
    server is back no alias points at a half-registered version;
(c) the app database unreachable while serving: requests answer 503 (not 500, not a hang) and the
    same ``bentoml serve`` process answers 200 again once the database is back;
(d) a Dask worker process dying mid-task on the production topology (``dask scheduler`` + ``dask worker``):
    the scheduler reruns the task on another worker and the flow run completes with every result.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest
from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy import create_engine, text

import registry
from abtpro import supervisor
from tests.integration.pg import drop_database, fresh_database, pg_server_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
ABTPRO = [sys.executable, "-m", "abtpro.cli"]


# ---------------------------------------------------------------- (a) crash mid-ingestion, re-run


def _big_csv(path: Path, symbols: int = 3, rows_per_symbol: int = 100_000) -> int:
    """Synthetic hourly bars (valid OHLC) for a few symbols; the total row count."""
    rng = np.random.default_rng(7)
    frames = []
    for i in range(symbols):
        ts = pd.date_range("2000-01-01", periods=rows_per_symbol, freq="h")
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, rows_per_symbol)))
        open_ = close * np.exp(rng.normal(0, 0.001, rows_per_symbol))
        high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.002, rows_per_symbol))
        low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.002, rows_per_symbol))
        frames.append(pd.DataFrame({"symbol": f"BIG{i}", "ts": ts, "open": open_, "high": high, "low": low,
                                    "close": close, "volume": rng.integers(1, 10_000, rows_per_symbol)}))
    pd.concat(frames).to_csv(path, index=False)
    return symbols * rows_per_symbol


def _bar_stats(url: str) -> tuple[int, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        total, distinct = conn.execute(text(
            "SELECT COUNT(*), (SELECT COUNT(*) FROM (SELECT DISTINCT symbol, timeframe, ts FROM market_bars) d) "
            "FROM market_bars")).one()
    engine.dispose()
    return int(total), int(distinct)


def test_killed_ingestion_reruns_to_exactly_the_expected_rows(tmp_path, clean_db):
    csv = tmp_path / "big.csv"
    expected = _big_csv(csv)
    env = {**os.environ, "DATABASE_URL": clean_db, "ABTPRO_DATA_DIR": str(tmp_path / ".abtpro"), "COLUMNS": "160"}
    command = [*ABTPRO, "ingest", "--source", "file", "--path", str(csv), "--timeframe", "1h"]
    proc = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    # kill it while it works: once the first rows are committed, or after the CSV has been read and validated
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline and _bar_stats(clean_db)[0] == 0:
        time.sleep(0.2)
    assert proc.poll() is None, "ingestion finished before it could be killed: make the file bigger"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    partial = _bar_stats(clean_db)[0]
    assert partial < expected, "the kill came too late to test anything"

    rerun = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert _bar_stats(clean_db) == (expected, expected)
    # and a third run changes nothing
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0 and _bar_stats(clean_db) == (expected, expected)


# ---------------------------------------------------------------- (b) MLflow down during registration


def test_mlflow_down_during_registration_fails_after_retries_and_leaves_aliases_alone(
        tmp_path, monkeypatch, clean_db, prefect_harness):
    from mlflow import MlflowClient

    from flows import registration
    from flows.ingest import ingest
    from flows.volatility import register_volatility, train_volatility, volatility_pipeline

    port = supervisor.free_port()
    server = supervisor.mlflow_server(f"sqlite:///{tmp_path / 'mlflow.db'}", (tmp_path / "artifacts").as_uri(), port)
    proc = supervisor.start(server, tmp_path / "run", timeout=180)
    monkeypatch.setenv("ABTPRO_MLFLOW_TRACKING_URI", server.url)
    # MLflow's own HTTP retries would back off for minutes; the flow's retry policy is what is under test
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    try:
        ingest(source="sample", symbol="GOOG")
        kwargs = {"symbols": ["GOOG"], "candidates": ["garch_t", "har_gk_log"], "refit_every": 126}
        first = volatility_pipeline(**kwargs)
        assert first.promoted and first.version == "1"
        outcome = train_volatility(**kwargs)  # logged to the server while it is up

        supervisor.stop_process(proc)
        assert not supervisor.healthy(f"{server.url}/health")
        started = time.monotonic()
        with pytest.raises(Exception, match=f"127.0.0.1:{port}") as failure:
            register_volatility(outcome, ["GOOG"])
        elapsed = time.monotonic() - started
        assert "Connection refused" in str(failure.value) or "Max retries" in str(failure.value)
        assert elapsed >= registration.REGISTRY_RETRIES * registration.REGISTRY_RETRY_DELAY_SECONDS

        proc = supervisor.start(server, tmp_path / "run", timeout=180)  # same store, same port
        client = MlflowClient(server.url, registry_uri=server.url)  # not the process-global registry
        assert [v.version for v in client.search_model_versions(f"name='{registry.VOLATILITY_MODEL}'")] == ["1"]
        assert client.get_model_version_by_alias(registry.VOLATILITY_MODEL, registry.CHAMPION).version == "1"
        assert client.get_model_version_by_alias(registry.VOLATILITY_MODEL, registry.CHALLENGER).version == "1"
    finally:
        if proc is not None:
            supervisor.stop_process(proc)


# ---------------------------------------------------------------- (c) database unreachable while serving

SERVE_DB = f"abtpro_serve_resilience_it_{os.getpid()}"  # per process: the PostgreSQL server is shared


def _set_connections(allowed: bool) -> None:
    admin = create_engine(pg_server_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"ALTER DATABASE {SERVE_DB} ALLOW_CONNECTIONS {'true' if allowed else 'false'}"))
        if not allowed:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :db"),
                         {"db": SERVE_DB})
    admin.dispose()


@pytest.mark.own_postgres
def test_database_outage_while_serving_answers_503_then_recovers(tmp_path):
    from store import migrate
    from tests.serving import support

    url = fresh_database(SERVE_DB)
    proc = None
    try:
        migrate.upgrade(url, "head")
        support.populate_store(url)
        uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
        support.register_all(uri, tmp_path / "artifacts")
        port = supervisor.free_port()
        base = supervisor.bentoml_server(port)
        server = supervisor.Server(base.name, [*base.command, "--working-dir", str(ROOT)], base.health_url,
                                    base.url, env={**support.service_env(uri), "DATABASE_URL": url,
                                                   "ABTPRO_DATA_DIR": str(tmp_path / ".abtpro"),
                                                   "PYTHONPATH": str(ROOT)})
        proc = supervisor.start(server, tmp_path / "run", timeout=180, cwd=ROOT)
        alice = {"X-API-Key": support.KEYS["alice"]}
        body = {"symbol": support.SYMBOL, "strategy": "sma_crossover", "side": "BUY"}

        def score() -> httpx.Response:
            return httpx.post(f"{server.url}/ml/signal/score", json=body, headers=alice, timeout=30)

        assert score().status_code == 200

        _set_connections(False)
        try:
            for _ in range(3):
                started = time.monotonic()
                down = score()
                assert down.status_code == 503, down.text
                assert "database" in down.json()["error"].lower()
                assert time.monotonic() - started < 20
            history = httpx.get(f"{server.url}/ml/signal/history", headers=alice, timeout=30)
            assert history.status_code == 503, history.text
        finally:
            _set_connections(True)

        up = score()  # the same process, no restart
        assert up.status_code == 200, up.text
        assert proc.poll() is None
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM ml_signal_scores")).scalar() == 2
        engine.dispose()
    finally:
        if proc is not None:
            supervisor.stop_process(proc)
        drop_database(SERVE_DB)


# ---------------------------------------------------------------- (d) a Dask worker dies mid-task


@task(cache_policy=NO_CACHE)
def _doubled_unless_first_try(i: int, marker: str) -> tuple[int, int]:
    """Task 3's first attempt kills its worker process (as an OOM kill or a lost host would)."""
    if i == 3 and not Path(marker).exists():
        Path(marker).write_text(str(os.getpid()))
        os._exit(1)
    time.sleep(0.2)
    return i * 2, os.getpid()


@flow
def _fan_out(n: int, marker: str) -> list[tuple[int, int]]:
    futures = [_doubled_unless_first_try.submit(i, marker) for i in range(n)]
    return [f.result() for f in futures]


def test_dask_worker_dying_mid_task_reruns_it_on_another_worker(tmp_path, prefect_harness):
    from distributed import Client
    from prefect_dask import DaskTaskRunner

    # the workers import this module to run its task
    with (supervisor.dask_cluster(tmp_path, 2, env={"PYTHONPATH": str(ROOT)}) as address,
          Client(address, timeout=60) as client):
        marker = tmp_path / "killed-worker-pid"
        results = _fan_out.with_options(task_runner=DaskTaskRunner(address=address))(6, str(marker))
        assert [value for value, _ in results] == [0, 2, 4, 6, 8, 10]  # every result, none lost
        killed = int(marker.read_text())
        assert results[3][1] != killed  # task 3 ran again, on another worker process
        client.wait_for_workers(2, timeout=60)  # the nanny restarted the dead worker
