"""Market replay, the Prefect flow ``market-replay``: held-back real bars through the live loop, as the platform would.

Step by step (step ``k`` = the ``k``-th held-back bar of every daily series, :func:`ml.replay.replay_steps`) it

1. pushes the bars to the running service (``POST /ml/bars``, a feeder key), which stores them and emits
   ``abtpro.bars.arrived``;
2. plays the app: the built-in strategies run on each series (:class:`ml.replay.AppSimulator`) and the
   signals that fire are scored by the service before "trading" (one batch call per step); a volatility
   forecast is asked for every series (position sizing; one batch call per step); all stored like any app's
   requests, under the replay's app user;
3. every ``pace_bars`` steps (:data:`PACE_BARS`: a month of daily bars), waits until the loop's runs on the
   Prefect server (``monitoring-loop``: the outcome backfill, then monitoring, which may fire
   ``abtpro.model.drift`` -> ``retrain-model`` -> gated promotion -> the service's hot swap) have covered the bars
   of the pace point before, so the feed is at most two paces ahead while the loop works; at the first pace point
   and after the last step, until every run has finished. Monitoring records a pass per ``every_bars`` bars of
   data time however seldom it runs (its catch-up), so the pace only decides how far the feed may run ahead of
   the loop, not how many passes there are. With ``loop="inline"`` (no Prefect server: tests,
   ``--no-ui``) it runs the backfill and monitoring flows itself instead, with direct retrain dispatch.

At the end it waits for open retrains, then reports (:mod:`flows.steps.replay_report`): a closing summary, a
timeline plot per series logged to MLflow (experiment ``abtpro-replay``) and a Prefect artifact. The feed step
by step is :mod:`flows.steps.replay_feed`; the service client and the wait for the loop are
:mod:`flows.steps.replay`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from prefect import flow, get_run_logger

from abtpro.settings import get_settings
from flows.steps.replay import ServiceClient
from flows.steps.replay_feed import known_history, play
from flows.steps.replay_report import ReplayResult, report, wait_for_retrains
from ingestion.sources import read_sample
from ml.datasets import SAMPLE_DATASETS
from ml.replay import AppSimulator, FeedFaults, replay_steps

DAILY = [name for name, ds in SAMPLE_DATASETS.items() if ds.timeframe == "1d"]
#: Steps between two waits for the loop: a month of daily bars. Monitoring catches up on the passes that fell
#: due meanwhile (a pass per ``every_bars`` = 5 bars, each as of its own bar: :func:`ml.monitoring.due_passes`),
#: so waiting monthly records the same weekly passes as waiting weekly, at a fifth of the waits.
PACE_BARS = 21


@flow(name="market-replay", log_prints=True)
def market_replay(service_url: str, feeder_key: str, app_key: str, app_user_id: int,
                  symbols: list[str] | None = None, holdback_days: int | None = None,
                  pace_bars: int = PACE_BARS,
                  loop: str = "triggers", wait_timeout: float = 120.0, max_steps: int | None = None,
                  faults: FeedFaults | None = None,
                  progress: Callable[[int, int], None] | None = None) -> ReplayResult:
    """Replay the held-back last ``holdback_days`` of the bundled daily series through the running service.

    Args:
        service_url: the BentoML service.
        feeder_key, app_key: API keys of the feed (feeder role) and of the app (any user), ``app_user_id`` its id.
        symbols: daily series to replay (default: every bundled daily series).
        holdback_days: the held-back span (default: ``settings.replay_holdback_days``, what ``abtpro run`` left out).
        pace_bars: wait for the loop every this many steps (0: never wait until the end).
        loop: ``triggers`` (Prefect deployment triggers run the chain) or ``inline`` (this flow runs it).
        wait_timeout: longest wait for the loop at a pace point, seconds.
        max_steps: replay only the first this many steps.
        faults: make the feed faulty (duplicates, late bars, corrupt bars): all must be stored or quarantined.
        progress: called in-process with (step done, steps) for the CLI's bar.
    """
    settings, logger = get_settings(), get_run_logger()
    symbols = symbols or DAILY
    holdback_days = settings.replay_holdback_days if holdback_days is None else holdback_days
    started = datetime.now(UTC)
    steps = replay_steps(read_sample(symbols, holdback_days=holdback_days, held_back=True))[:max_steps]
    app = AppSimulator(known_history(symbols, holdback_days))
    client = ServiceClient(service_url, feeder_key, app_key)
    logger.info("replaying %d steps of %s (%d held-back days) through %s", len(steps), ", ".join(symbols),
                holdback_days, service_url)
    try:
        fault_counts, loop_runs, replay_seconds = play(steps, app, client, faults or FeedFaults(), pace_bars, loop,
                                                       wait_timeout, progress)
        retrains = wait_for_retrains(settings.db_url, started, timeout=max(wait_timeout, 300.0))
    finally:
        client.close()
    return report(settings, started, client.counts, fault_counts, len(steps), app_user_id, replay_seconds,
                  loop_runs, retrains, symbols)


if __name__ == "__main__":
    raise SystemExit("run it with `abtpro replay` (it needs the running service and its API keys)")
