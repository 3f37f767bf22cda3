"""The feed of the market replay (:func:`flows.replay.market_replay`): the history the app knows before the
replay, and the replay itself, step by step: push the bars, play the app on them, and every ``pace_bars``
steps let the live loop catch up (wait for its triggered runs, or run it inline)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd

from flows.steps.replay import ServiceClient, wait_for_loop
from ingestion.sources import read_sample
from ml.replay import AppSimulator, FeedFaults, faulty_feed


def known_history(symbols: list[str], holdback_days: int) -> dict[tuple[str, str], object]:
    """The bars of each series before the held-back span, by (symbol, timeframe): what the app starts from."""
    known = read_sample(symbols, holdback_days=holdback_days)
    return {(str(s), str(tf)): g.set_index("ts").sort_index()
            for (s, tf), g in known.groupby(["symbol", "timeframe"])}


def play(steps: list[pd.DataFrame], app: AppSimulator, client: ServiceClient, faults: FeedFaults, pace_bars: int,
         loop: str, wait_timeout: float, progress: Callable[[int, int], None] | None) -> tuple[dict, int, float]:
    """Replay ``steps`` through the service; returns the feed's fault counts, the loop runs and the seconds it took."""
    fault_counts = {"duplicate": 0, "late": 0, "corrupt": 0}
    week_start = datetime.now(UTC)
    loop_runs = 0
    t0 = time.perf_counter()
    seconds, clock = client.counts.seconds, time.perf_counter

    def timed(part: str, started: float) -> float:
        now = clock()
        seconds[part] += now - started
        return now

    for k, (push, faulted) in enumerate(faulty_feed(steps, faults)):
        mark, pushed_at = clock(), datetime.now(UTC)
        client.push(push)
        mark = timed("push", mark)
        fault_counts = {key: fault_counts[key] + faulted[key] for key in fault_counts}
        fired = app.observe(steps[k])
        mark = timed("app", mark)
        client.score_batch(fired)
        mark = timed("score", mark)
        client.forecast_batch([(str(row.symbol), str(row.timeframe), pd.Timestamp(row.ts))
                               for row in steps[k].itertuples(index=False)])
        mark = timed("forecast", mark)
        last = k == len(steps) - 1
        if (pace_bars and (k + 1) % pace_bars == 0) or last:
            loop_runs += close_loop(loop, week_start, wait_timeout, pushed_at)
            week_start = datetime.now(UTC)
            timed("loop", mark)
        if progress:
            progress(k + 1, len(steps))
    return fault_counts, loop_runs, time.perf_counter() - t0


def close_loop(loop: str, since: datetime, timeout: float, pushed_at: datetime | None = None) -> int:
    """Let the loop catch up with the bars pushed since ``since`` (the last at ``pushed_at``); returns the loop
    runs that ran."""
    if loop == "inline":
        from flows.loop import monitoring_loop

        monitoring_loop(monitor={"dispatch": "direct"})
        return 1
    return wait_for_loop(since, timeout=timeout, pushed_at=pushed_at)
