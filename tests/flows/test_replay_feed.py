"""The replay's feed step by step (:func:`flows.steps.replay_feed.play`): every step pushed, played and forecast,
the loop closed every ``pace_bars`` steps and after the last one, the feed's faults counted."""

from __future__ import annotations

from collections import Counter

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
    waits, progress = [], []
    monkeypatch.setattr(replay_feed, "wait_for_loop", lambda since, timeout, pushed_at=None: waits.append(timeout) or 2)
    client = _Client()
    faults, loop_runs, seconds = replay_feed.play(steps, app, client, FeedFaults(duplicate_every=4), 10, "triggers",
                                                  7.0, lambda k, n: progress.append((k, n)))
    assert client.counts == {"pushes": 25, "score_calls": 25, "forecasts": sum(len(s) for s in steps)}
    assert waits == [7.0, 7.0, 7.0] and loop_runs == 6  # after steps 10, 20 and the last (25)
    assert progress == [(k, 25) for k in range(1, 26)]
    assert faults == {"duplicate": sum(len(steps[k - 1]) for k in range(4, 25, 4)), "late": 0, "corrupt": 0}
    assert list(client.counts.seconds) == ["push", "app", "score", "forecast", "loop"]
    assert 0 < sum(client.counts.seconds.values()) <= seconds
