"""Task runners of the fan-out flows (flows.common): thread pool, per-flow Dask cluster, one shared cluster."""

from __future__ import annotations

import os
import time

import pandas as pd
import pytest
from distributed import Event
from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from abtpro.settings import get_settings
from flows import task_overhead
from flows.common import load_bars, local_cluster, shared_dask_cluster, task_runner, task_threads


@task
def _worker_address(i: int) -> str:
    from distributed import get_worker

    return get_worker().address


@flow
def _fan_out(n: int) -> set[str]:
    return {f.result() for f in _worker_address.map(list(range(n)))}


@task
def _threads(configured: int) -> int:
    return task_threads(configured)


@flow
def _threads_on_runner(configured: int) -> int:
    return _threads.submit(configured).result()


def _wait_for(event) -> bool:
    return event.wait(timeout=30)


def _processing(client) -> list[int]:
    """Tasks the scheduler has sent to each worker."""
    return client.run_on_scheduler(
        lambda dask_scheduler: [len(ws.processing) for ws in dask_scheduler.workers.values()])


def test_per_flow_local_cluster_uses_the_one_cluster_factory(monkeypatch):
    monkeypatch.setenv("ABTPRO_TASK_RUNNER", "dask")
    monkeypatch.delenv("ABTPRO_DASK_ADDRESS", raising=False)
    runner = task_runner(get_settings())
    assert runner.cluster_class is local_cluster and runner.cluster_kwargs["threads_per_worker"] == 1


def test_threads_by_default_and_shared_cluster_is_then_a_no_op(monkeypatch):
    monkeypatch.delenv("ABTPRO_TASK_RUNNER", raising=False)
    settings = get_settings()
    assert isinstance(task_runner(settings), ThreadPoolTaskRunner)
    with shared_dask_cluster(settings) as inside:
        assert inside is settings and "ABTPRO_DASK_ADDRESS" not in os.environ
    # off a Dask worker (threads, a plain call) a task may use the threads it was configured with
    assert task_threads(3) == 3 and _threads_on_runner(3) == 3


@pytest.mark.slow
def test_one_shared_local_cluster_serves_every_flow_of_a_run(prefect_harness, monkeypatch):
    monkeypatch.setenv("ABTPRO_TASK_RUNNER", "dask")
    monkeypatch.setenv("ABTPRO_DASK_WORKERS", "2")
    monkeypatch.delenv("ABTPRO_DASK_ADDRESS", raising=False)
    with shared_dask_cluster(get_settings()) as settings:
        address = os.environ["ABTPRO_DASK_ADDRESS"]
        assert settings.dask_address == address and address.startswith("tcp://127.0.0.1:")
        from distributed import Client

        with Client(address) as client:
            workers = set(client.scheduler_info()["workers"])
            # one task per single-threaded worker at a time, the rest queued on the scheduler for whichever
            # worker frees up first (Dask's default saturation 1.1 would hand each worker two)
            release = Event(client=client)
            futures = client.map(_wait_for, [release] * 5, pure=False)
            deadline = time.monotonic() + 30
            while sum(_processing(client)) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # time enough to hand out more, were the workers oversaturated
            assert _processing(client) == [1, 1]
            assert client.run_on_scheduler(lambda dask_scheduler: len(dask_scheduler.queued)) == 3
            release.set()
            assert client.gather(futures) == [True] * 5
        assert len(workers) == 2
        seen = set()
        for _ in range(2):  # two flow runs, each building its runner from the settings as the pipelines do
            runner = task_runner(get_settings())
            assert isinstance(runner, DaskTaskRunner) and runner.address == address
            seen |= _fan_out.with_options(task_runner=runner)(8)
        assert seen and seen <= workers  # every task ran on the shared cluster's workers
        # on a single-threaded worker, a task asking for 2 threads (XGBoost) gets 1: no oversubscribed cores
        assert _threads_on_runner.with_options(task_runner=task_runner(get_settings()))(2) == 1
        with Client(address) as client:  # the workers ran those task runs with flows.task_overhead's fixes
            assert list(client.run(task_overhead.installed).values()) == [
                {"ssl": True, "serialize": True, "hydrate": True}] * 2
    assert "ABTPRO_DASK_ADDRESS" not in os.environ


@flow
def _load(url: str, symbol: str) -> tuple[bool, str]:
    """Whether loading the series failed, and the error."""
    state = load_bars(url, symbol, "1d", return_state=True)
    return state.is_failed(), str(state.result(raise_on_failure=False))


def test_load_bars_fails_at_once_on_a_missing_series_and_retries_database_errors(prefect_harness, clean_db,
                                                                                   monkeypatch):
    from flows import common

    monkeypatch.setattr(load_bars, "retry_delay_seconds", 0)
    calls, read_bars = [], common.store.read_bars

    def counted(url, symbol, timeframe):
        calls.append(symbol)
        return read_bars(url, symbol, timeframe)

    monkeypatch.setattr(common.store, "read_bars", counted)
    failed, error = _load(clean_db, "NOPE")
    assert failed and "no stored bars for NOPE/1d" in error
    assert calls == ["NOPE"]  # a permanent error: one attempt, no retry delays for the training flows

    def bad(url, symbol, timeframe):
        calls.append(symbol)
        return pd.DataFrame({"close": [1.0]})  # violates the bars-frame contract

    calls.clear()
    monkeypatch.setattr(common.store, "read_bars", bad)
    failed, error = _load(clean_db, "BAD")
    assert failed and "open" in error and calls == ["BAD"]  # the stored data is wrong: retrying cannot help

    def down(url, symbol, timeframe):
        calls.append(symbol)
        raise ConnectionError("database restarting")

    calls.clear()
    monkeypatch.setattr(common.store, "read_bars", down)
    failed, error = _load(clean_db, "SPY")
    assert failed and "database restarting" in error
    assert calls == ["SPY"] * (1 + common.IO_RETRIES)  # transient: retried
