"""The feed of the market replay (:func:`flows.replay.market_replay`): the history the app knows before the
replay, and the replay itself, step by step: push the bars, play the app on them, and every ``pace_bars``
steps let the live loop catch up (wait for its triggered runs to cover the bars, or run it inline)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pandas as pd

from flows.steps.replay import ServiceClient, drain_loop, wait_until_covered
from ingestion.sources import read_sample
from ml.replay import AppSimulator, FeedFaults, faulty_feed


def known_history(symbols: list[str], holdback_days: int) -> dict[tuple[str, str], object]:
    """The bars of each series before the held-back span, by (symbol, timeframe): what the app starts from."""
    known = read_sample(symbols, holdback_days=holdback_days)
    return {(str(s), str(tf)): g.set_index("ts").sort_index()
            for (s, tf), g in known.groupby(["symbol", "timeframe"])}


def play(steps: list[pd.DataFrame], app: AppSimulator, client: ServiceClient, faults: FeedFaults, pace_bars: int,
         loop: str, wait_timeout: float, progress: Callable[[int, int], None] | None) -> tuple[dict, int, float]:
    """Replay ``steps`` through the service; returns the feed's fault counts, the loop runs and the seconds it took.

    With the triggers, the loop's runs overlap the feed: at a pace point the feed waits only until the loop has
    covered the bars of the pace point before (:func:`wait_until_covered`), so it is at most two paces ahead. At
    the first pace point and after the last step it waits until every run is done and one covered the last push
    (:func:`drain_loop`): a champion's first monitoring pass is as of the first pace point (later passes catch up
    every ``every_bars`` bars from it, however late the loop runs)."""
    fault_counts = {"duplicate": 0, "late": 0, "corrupt": 0}
    replay_start, previous_point = datetime.now(UTC), None
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
            if loop == "inline":
                loop_runs += run_inline()
            elif last:
                loop_runs = drain_loop(replay_start, pushed_at, timeout=wait_timeout)
            elif previous_point is None:  # the first pace point: the champions' first monitoring passes, as of it
                drain_loop(replay_start, pushed_at, timeout=wait_timeout)
            elif not wait_until_covered(replay_start, previous_point, timeout=wait_timeout):
                _log().warning("step %d of %d: the loop had not covered the bars pushed at %s after %.0f s; the "
                               "feed goes on ahead of it", k + 1, len(steps), previous_point.isoformat(),
                               wait_timeout)
            previous_point = pushed_at
            timed("loop", mark)
        if progress:
            progress(k + 1, len(steps))
    return fault_counts, loop_runs, time.perf_counter() - t0


def _log() -> logging.Logger | logging.LoggerAdapter:
    """The flow run's logger (shown in the Prefect UI), or this module's outside a run."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def run_inline() -> int:
    """The loop run by the replay itself (no Prefect server): the backfill, then monitoring with direct retrain."""
    from flows.loop import monitoring_loop

    monitoring_loop(monitor={"dispatch": "direct"})
    return 1
