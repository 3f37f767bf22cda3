"""The monitoring loop (one run per arrival: the backfill, then monitoring) and the replay's wait for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pandas as pd

from flows.backfill import BackfillResult


def _bars(symbol: str, n: int = 5) -> pd.DataFrame:
    ts = pd.bdate_range("2020-01-01", periods=n)
    return pd.DataFrame({"symbol": symbol, "timeframe": "1d", "ts": ts, "open": 1.0, "high": 1.1, "low": 0.9,
                         "close": 1.0, "volume": 10.0, "source": "test"})


def test_one_run_backfills_then_monitors_and_does_the_bars_stored_meanwhile_again(prefect_harness, clean_db,
                                                                                   monkeypatch):
    from flows import loop
    from store.bars import upsert_bars

    calls: list = []

    def backfill(symbols=None, timeframes=None):
        calls.append(("backfill", symbols, timeframes))
        return BackfillResult(len(calls), 0, 0, 0)

    def monitor(**kwargs):
        calls.append(("monitor", kwargs))
        if len(calls) == 2:  # bars arrive while the first round runs: its event's run would be cancelled
            upsert_bars(clean_db, _bars("LATE"))
        return [f"outcome {len(calls)}"]

    monkeypatch.setattr(loop, "backfill_outcomes", backfill)
    monkeypatch.setattr(loop, "monitor_models", monitor)
    out = loop.monitoring_loop(symbols=["AAA"], timeframes=["1d"], monitor={"every_bars": 5, "dispatch": "direct"})
    assert calls == [("backfill", ["AAA"], ["1d"]), ("monitor", {"every_bars": 5, "dispatch": "direct"}),
                     ("backfill", ["LATE"], ["1d"]), ("monitor", {"every_bars": 5, "dispatch": "direct"})]
    assert [b.volatility_resolved for b in out["backfill"]] == [1, 3]
    assert out["monitoring"] == ["outcome 2", "outcome 4"]

    def busy_monitor(**kwargs):  # bars keep arriving during every round: at most catch_up more rounds
        calls.append("monitor")
        upsert_bars(clean_db, _bars("LATE", 5 + len(calls)))
        return []

    calls.clear()
    monkeypatch.setattr(loop, "monitor_models", busy_monitor)
    out = loop.monitoring_loop(catch_up=1)
    assert calls == [("backfill", None, None), "monitor", ("backfill", ["LATE"], ["1d"]), "monitor"]
    assert len(out["backfill"]) == 2


def _run(state: str, created: datetime, started: datetime | None = None) -> SimpleNamespace:
    return SimpleNamespace(state_type=SimpleNamespace(value=state), created=created, expected_start_time=created,
                           start_time=started)


def test_the_replay_waits_for_the_run_of_its_last_push_and_no_longer(monkeypatch):
    from flows.steps import replay

    now = datetime.now(UTC)
    pushed = now - timedelta(seconds=1)
    earlier = _run("COMPLETED", now - timedelta(seconds=30))
    polls: list = []
    # the last push's run appears on the third poll, runs, and ends: the wait ends with it, without a settle time
    timeline = [[earlier], [earlier], [earlier, _run("SCHEDULED", now)], [earlier, _run("RUNNING", now)],
                [earlier, _run("COMPLETED", now)]]
    monkeypatch.setattr(replay, "_loop_runs", lambda since, names: polls.append(1) or timeline[min(len(polls), 5) - 1])
    monkeypatch.setattr(replay.time, "sleep", lambda s: None)
    assert replay.wait_for_loop(now - timedelta(minutes=1), timeout=30, settle=1e9, pushed_at=pushed) == 2
    assert len(polls) == 6  # five polls to see it end, one to count

    # a push that stored nothing new emits no event: the wait ends once nothing was active for `settle` seconds
    polls.clear()
    monkeypatch.setattr(replay, "_loop_runs", lambda since, names: polls.append(1) or [earlier])
    assert replay.wait_for_loop(now - timedelta(minutes=1), timeout=30, settle=0.0, pushed_at=pushed) == 1
    assert len(polls) == 2


def test_at_a_pace_point_the_feed_waits_only_until_the_loop_covered_the_point_before(monkeypatch):
    from flows.steps import replay

    now = datetime.now(UTC)
    point = now - timedelta(seconds=10)  # the push of the previous pace point
    old = _run("COMPLETED", point - timedelta(seconds=9), point - timedelta(seconds=5))  # started before it
    busy = _run("RUNNING", now - timedelta(seconds=3), now - timedelta(seconds=2))
    covering = _run("COMPLETED", point + timedelta(seconds=1), point + timedelta(seconds=2))
    polls: list = []
    # another run stays busy all along (the feed keeps sending): the wait ends as soon as one that started after
    # the point's push has completed, not when the loop is idle
    timeline = [[old, busy], [old, busy], [old, busy, covering]]
    monkeypatch.setattr(replay, "_loop_runs", lambda since, names: polls.append(1) or timeline[len(polls) - 1])
    monkeypatch.setattr(replay.time, "sleep", lambda s: None)
    assert replay.wait_until_covered(now - timedelta(minutes=1), point, timeout=30, settle=1e9)
    assert len(polls) == 3
    # nothing covering and nothing running: covered once idle for `settle` (no push left without a run)
    monkeypatch.setattr(replay, "_loop_runs", lambda since, names: [old])
    assert replay.wait_until_covered(now - timedelta(minutes=1), point, timeout=30, settle=0.0)
    # a busy loop that never covers it: the wait gives up at its timeout and says so
    monkeypatch.setattr(replay, "_loop_runs", lambda since, names: [old, busy])
    assert not replay.wait_until_covered(now - timedelta(minutes=1), point, timeout=0.0)


def test_after_the_last_push_a_loop_run_is_asked_for_when_none_covered_it(monkeypatch):
    import prefect.deployments

    from flows.steps import replay

    now = datetime.now(UTC)
    pushed = now - timedelta(seconds=5)
    before = _run("COMPLETED", pushed - timedelta(seconds=9), pushed - timedelta(seconds=8))
    cancelled = _run("CANCELLED", pushed + timedelta(seconds=1))  # the last push's run, cancelled: one was running
    asked, waits = [], []
    monkeypatch.setattr(prefect.deployments, "run_deployment", lambda name, timeout: asked.append((name, timeout)))
    monkeypatch.setattr(replay, "wait_for_loop", lambda since, timeout, names, pushed_at: waits.append(pushed_at) or 3)
    monkeypatch.setattr(replay, "_loop_runs", lambda since, names: [before, cancelled])
    assert replay.drain_loop(now - timedelta(minutes=1), pushed, timeout=9) == 3
    assert asked == [("monitoring-loop/monitoring-loop", 0)] and waits[0] == pushed and waits[1] > pushed
    # a run that started after the last push completed: nothing more to ask for
    asked.clear()
    covering = _run("COMPLETED", pushed + timedelta(seconds=1), pushed + timedelta(seconds=2))
    monkeypatch.setattr(replay, "_loop_runs", lambda since, names: [before, cancelled, covering])
    replay.drain_loop(now - timedelta(minutes=1), pushed, timeout=9)
    assert asked == []
