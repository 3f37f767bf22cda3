"""The Prefect event every intake of bars emits, so the monitoring chain runs when data arrives.

``abtpro.bars.arrived`` (resource ``abtpro.bars.<source kind>``) carries what arrived: one entry per series
with new or changed bars (symbol, timeframe, first and last bar timestamp, counts) in ``payload.series``,
plus ``payload.symbols`` / ``payload.timeframes``. The deployment triggers of :mod:`flows.deployments`
turn it into outcome backfill and monitoring runs for the affected series. Without a Prefect API
(``PREFECT_API_URL`` unset) nothing is emitted and :func:`emit_arrival` returns None.
"""

from __future__ import annotations

import logging
from dataclasses import asdict

from ingestion.intake import Intake

BARS_ARRIVED = "abtpro.bars.arrived"
logger = logging.getLogger(__name__)


def arrival_payload(intake: Intake) -> dict:
    """The event payload of one intake (only series that got new or changed bars)."""
    series = [asdict(s) for s in intake.arrived()]
    return {"source": intake.source, "series": series,
            "symbols": sorted({s["symbol"] for s in series}), "timeframes": sorted({s["timeframe"] for s in series}),
            "inserted": intake.inserted, "quarantined": intake.quarantined}


def emit_arrival(intake: Intake, kind: str) -> str | None:
    """Emit :data:`BARS_ARRIVED` for ``intake`` when a Prefect API is configured and something arrived.

    Args:
        intake: what :func:`ingestion.intake.accept_bars` stored.
        kind: the source kind (``push``, ``folder``, ``sql``, ``sample``, ``file``): the event's resource.

    Returns:
        The event id, or None when nothing was emitted (no API configured, nothing new, or the API is down:
        the data is stored either way and the daily schedule catches up).
    """
    from prefect.events import emit_event
    from prefect.settings import PREFECT_API_URL

    if not intake.arrived() or not PREFECT_API_URL.value():
        return None
    try:
        event = emit_event(event=BARS_ARRIVED, resource={"prefect.resource.id": f"abtpro.bars.{kind}",
                                                         "prefect.resource.name": intake.source[:200]},
                           payload=arrival_payload(intake))
    except Exception as err:  # the bars are stored; a down event API must not fail the intake
        logger.warning("could not emit %s: %s", BARS_ARRIVED, err)
        return None
    return str(event.id) if event else None
