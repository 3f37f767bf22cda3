"""The monitoring loop: on every arrival of bars, resolve the outcomes they reveal, then monitor the champions.

``monitoring-loop`` is the deployment that ``abtpro.bars.arrived`` starts (trigger ``loop-on-arrival``). One run
does both links of the chain in one process, as two subflows (nested runs in the Prefect UI):

1. :func:`flows.backfill.backfill_outcomes` for the arrived symbols and timeframes (and, before it ends, the series
   of bars stored while it ran);
2. :func:`flows.monitor.monitor_models`, which records the passes that fell due (in bars of data time; "no new
   data" otherwise). Its ``abtpro.model.drift`` event starts ``retrain-model``.

The deployment runs one at a time and the server cancels the runs that events start meanwhile (``CANCEL_NEW``),
so before it ends a run looks for bars stored while it ran (monitoring included) and does both links again for
their series (at most ``catch_up`` more rounds): no arrival is left waiting for the next one.

The backfill still emits ``abtpro.outcomes.resolved`` (for anyone who wants to react to resolved outcomes); no
trigger of the pipeline's own listens to it any more. Why one run and not two chained deployments: every
triggered run is a new process (the runner's poll, a Python start, the pipeline's imports: 4-7 s on two cores);
the event-to-run hop and that start were about half of the replay's wall time, paid twice per arrival. The
``backfill-outcomes`` and ``monitor-models`` deployments stay, for a run by hand from the UI; the daily fallback
schedule is this one's.

``python -m flows.loop`` runs it once, for every series.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from abtpro.settings import get_settings
from flows.backfill import backfill_outcomes
from flows.monitor import monitor_models
from store.models import utcnow
from store.monitoring import series_ingested_since

DEPLOYMENT = "monitoring-loop"


@flow(name=DEPLOYMENT, log_prints=True)
def monitoring_loop(symbols: list[str] | None = None, timeframes: list[str] | None = None,
                    monitor: dict[str, Any] | None = None, catch_up: int = 2) -> dict[str, Any]:
    """Resolve the outcomes of the arrived series, then run the monitoring passes that fell due.

    Args:
        symbols, timeframes: the series whose bars arrived (the event's); None or empty: all.
        monitor: keyword arguments of :func:`flows.monitor.monitor_models` (the deployment's: window,
            cooldown_bars, every_bars in bars of data time, ``dispatch``...); None: its defaults.
        catch_up: extra rounds for the series of bars stored while this run ran.

    Returns: ``{"backfill": [BackfillResult, ...], "monitoring": [MonitorOutcome, ...]}``, a backfill per round.
    """
    url, logger = get_settings().db_url, get_run_logger()
    backfills, outcomes = [], []
    for _ in range(1 + max(catch_up, 0)):
        started = utcnow()
        backfills.append(backfill_outcomes(symbols=symbols, timeframes=timeframes))
        outcomes += monitor_models(**(monitor or {}))
        symbols, timeframes = series_ingested_since(url, started)
        if not symbols:
            break
        logger.info("monitoring-loop: bars of %s arrived while it ran: another round", symbols)
    logger.info("monitoring-loop: %d round(s), %d volatility and %d signal outcomes resolved, %d monitoring results",
                len(backfills), sum(b.volatility_resolved for b in backfills),
                sum(b.signals_resolved for b in backfills), len(outcomes))
    return {"backfill": backfills, "monitoring": outcomes}


if __name__ == "__main__":
    print(monitoring_loop())
