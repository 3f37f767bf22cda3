"""The replay's feed step by step (:func:`flows.steps.replay_feed.play`): every step pushed, played and forecast,
the loop closed every ``pace_bars`` steps and after the last one, the feed's faults counted."""

from __future__ import annotations

import bisect
from collections import Counter
from datetime import UTC, datetime

from flows.steps import replay_feed
from ingestion.sources import read_sample
from ml.replay import AppSimulator, FeedFaults, replay_steps


class _Counts(Counter):
    def __init__(self) -> None:
        super().__init__()
        self.seconds: Counter = Counter()


class _Client:
    def __init__(self) -> None:
        self.counts = _Counts()

    def push(self, bars) -> None:
        self.counts["pushes"] += 1

    def score_batch(self, signals) -> None:
        self.counts["score_calls"] += 1

    def forecast_batch(self, rows) -> None:
        self.counts["forecasts"] += len(rows)


def test_play_pushes_every_step_and_closes_the_loop_at_each_pace_point(monkeypatch):
    symbols, holdback = ["GOOG", "SP500"], 60
    steps = replay_steps(read_sample(symbols, holdback_days=holdback, held_back=True))[:25]
    app = AppSimulator(replay_feed.known_history(symbols, holdback))
    waits, progress, pushes = [], [], []

    def step_of(pushed_at):  # the step whose push was made at pushed_at (the client records its pushes just after)
        return bisect.bisect_left(pushes, pushed_at) + 1

    monkeypatch.setattr(replay_feed, "drain_loop",
                        lambda since, pushed_at, timeout: waits.append(("drained", step_of(pushed_at))) or 6)
    monkeypatch.setattr(replay_feed, "wait_until_covered",
                        lambda since, pushed_at, timeout: waits.append(("covered", step_of(pushed_at))) or True)
    client = _Client()
    client.push = lambda bars: pushes.append(datetime.now(UTC))
    faults, loop_runs, seconds = replay_feed.play(steps, app, client, FeedFaults(duplicate_every=4), 10, "triggers",
                                                  7.0, lambda k, n: progress.append((k, n)))
    assert len(pushes) == 25
    assert client.counts == {"score_calls": 25, "forecasts": sum(len(s) for s in steps)}
    # at step 10 (the first pace point: the first monitoring passes) and after the last step (25) the loop is
    # drained; at step 20 it must only have covered step 10's bars (the feed is at most two paces ahead)
    assert waits == [("drained", 10), ("covered", 10), ("drained", 25)] and loop_runs == 6
    assert progress == [(k, 25) for k in range(1, 26)]
    assert faults == {"duplicate": sum(len(steps[k - 1]) for k in range(4, 25, 4)), "late": 0, "corrupt": 0}
    assert list(client.counts.seconds) == ["push", "app", "score", "forecast", "loop"]
    assert 0 < sum(client.counts.seconds.values()) <= seconds


def test_a_pace_point_the_loop_did_not_cover_in_time_is_logged(monkeypatch):
    import logging

    symbols, holdback = ["GOOG"], 60
    steps = replay_steps(read_sample(symbols, holdback_days=holdback, held_back=True))[:25]
    app = AppSimulator(replay_feed.known_history(symbols, holdback))
    monkeypatch.setattr(replay_feed, "drain_loop", lambda since, pushed_at, timeout: 1)
    monkeypatch.setattr(replay_feed, "wait_until_covered", lambda since, pushed_at, timeout: False)  # timed out
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append  # the project's logging config may not propagate to pytest's caplog
    logger = logging.getLogger("flows.steps.replay_feed")
    logger.addHandler(handler)
    try:
        replay_feed.play(steps, app, _Client(), FeedFaults(), 10, "triggers", 7.0, None)
    finally:
        logger.removeHandler(handler)
    warned = [r.getMessage() for r in records if "had not covered" in r.getMessage()]
    assert len(warned) == 1 and warned[0].startswith("step 20 of 25") and "after 7 s" in warned[0]
