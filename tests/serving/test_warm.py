"""serving.warm: the newest bar's default answers computed at start and after new bars, cached and never stored."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from serving.warm import AnswerWarmer
from store.db import get_engine
from store.models import MLSignalScore, VolatilityPrediction
from tests.serving import support
from tests.serving.conftest import headers


def _rows(url: str) -> int:
    with get_engine(url).connect() as conn:
        return sum(int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                   for t in (MLSignalScore, VolatilityPrediction))


def test_warmer_warms_each_new_state_once_and_retries_a_failure_at_the_next_change():
    series = [("A", "1d", 1), ("B", "1d", 7)]
    versions = ["v1"]
    calls: list[tuple[str, str]] = []

    def warm(symbol: str, timeframe: str) -> None:
        calls.append((symbol, timeframe))
        if symbol == "B" and versions[0] == "v1":
            raise LookupError("no champion yet")

    warmer = AnswerWarmer(lambda: list(series), warm, lambda: versions[0], interval=60, min_gap=0)
    assert warmer.run_once() == [("A", "1d")]  # B failed: not listed
    assert warmer.run_once() == []  # nothing changed: neither is tried again (a failure costs nothing twice)
    series[0] = ("A", "1d", 2)  # new bars of A
    assert warmer.run_once() == [("A", "1d")]
    versions[0] = "v2"  # a champion loaded or swapped: every series again, B now succeeds
    assert warmer.run_once() == [("A", "1d"), ("B", "1d")]
    assert calls == [("A", "1d"), ("B", "1d"), ("A", "1d"), ("A", "1d"), ("B", "1d")]


def test_a_series_rewritten_faster_than_the_gap_is_warmed_at_its_pace_with_its_newest_revision():
    series, now, calls = [("A", "1d", 1)], [0.0], []
    warmer = AnswerWarmer(lambda: list(series), lambda s, t: calls.append(series[0][2]), min_gap=10,
                          clock=lambda: now[0])
    assert warmer.run_once() == [("A", "1d")]
    for revision, at in ((2, 1.0), (3, 2.0), (4, 9.9)):  # three writes within the gap: none warmed
        series[0], now[0] = ("A", "1d", revision), at
        assert warmer.run_once() == []
    now[0] = 10.0  # the gap has passed: the newest revision is warmed once
    assert warmer.run_once() == [("A", "1d")] and warmer.run_once() == []
    assert calls == [1, 4]


def test_warmer_thread_survives_an_unreadable_database_and_stops():
    looked = threading.Event()

    def revisions() -> list[tuple[str, str, int]]:
        looked.set()
        raise OSError("database restarting")

    warmer = AnswerWarmer(revisions, lambda s, t: None, interval=0.01)
    warmer.start()
    assert looked.wait(5)
    warmer.stop()
    warmer._thread.join(5)
    assert not warmer._thread.is_alive()


@pytest.fixture
def service(registry_store, store):
    """The service object itself (its ``__init__``, no HTTP), the background warm-up off."""
    with support.EnvPatch(support.service_env(registry_store["uri"])):
        from serving.service import MLService

        svc = MLService.inner()
        yield svc
        svc._stop()


def test_warmed_default_requests_are_cache_hits_and_nothing_is_stored(service, store):
    from serving.schemas import SignalRequest, VolatilityRequest

    service.warm_series(support.SYMBOL, "1d")
    assert _rows(store) == 0  # computed, not stored: a prediction exists only when a caller asks
    hits, misses = service.cache.hits, service.cache.misses
    _, outs = service._signal_answers([SignalRequest(symbol=support.SYMBOL, strategy="rsi_mean_reversion",
                                                     side="SELL")])
    _, vol = service._volatility_answers([VolatilityRequest(symbol=support.SYMBOL)])
    assert (service.cache.hits - hits, service.cache.misses - misses) == (2, 0)
    assert 0 <= outs[0].score <= 1 and vol[0].predicted > 0
    _, other = service._signal_answers([SignalRequest(symbol=support.SYMBOL, strategy="rsi_mean_reversion",
                                                      side="SELL", strength=0.5)])
    assert service.cache.misses - misses == 1 and other[0].ts == outs[0].ts  # another setting: computed on demand


def test_new_bars_are_warmed_on_the_next_look(service, store):
    import pandas as pd

    from store.bars import upsert_bars
    from store.windows import series_revisions

    warmer = AnswerWarmer(lambda: series_revisions(store, 4), service.warm_series, interval=60, min_gap=0)
    assert sorted(warmer.run_once()) == [(support.SYMBOL, "1d"), (support.OTHER, "1d")]
    assert warmer.run_once() == []
    bars = support.garch_bars()
    nxt = bars.iloc[[-1]].copy()
    nxt.index = pd.DatetimeIndex([bars.index[-1] + pd.Timedelta(days=1)], name=bars.index.name)
    upsert_bars(store, support.long_frame(nxt, support.SYMBOL))
    assert warmer.run_once() == [(support.SYMBOL, "1d")]
    misses = service.cache.misses
    from serving.schemas import SignalRequest

    _, outs = service._signal_answers([SignalRequest(symbol=support.SYMBOL, strategy="sma_crossover", side="BUY")])
    assert service.cache.misses == misses and outs[0].ts == nxt.index[0]  # the new bar, already computed


def test_a_service_with_the_warm_up_on_answers_and_stores_as_usual(registry_store, store):
    from tests.serving.conftest import make_client

    env = support.service_env(registry_store["uri"], ABTPRO_SERVING_WARM_SERIES="4", ABTPRO_SERVING_WARM_SECONDS="0.05")
    with make_client(env) as client:
        time.sleep(0.5)  # the warm-up runs beside the requests
        for _ in range(3):
            r = client.post("/ml/signal/score", json={"symbol": support.SYMBOL, "strategy": "sma_crossover",
                                                      "side": "BUY"}, headers=headers("alice"))
            assert r.status_code == 200, r.text
        r = client.post("/ml/volatility/predict", json={"symbol": support.SYMBOL}, headers=headers("alice"))
        assert r.status_code == 200, r.text
    assert _rows(store) == 4  # every answer stored once, the warm-up's none
