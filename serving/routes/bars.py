"""``POST /ml/bars``: a feed pushes raw bars (a ``feeder`` or admin key).

The bars go through the one write path of raw bars, :func:`ingestion.intake.accept_bars` (the raw-bar
contract of file ingestion: valid rows upserted, invalid rows quarantined with their reasons, re-pushing the
same bars inserts nothing; a bar stamped after the server clock is quarantined as ``ts: in the future``), then
:func:`ingestion.events.emit_arrival` emits ``abtpro.bars.arrived`` (kind
``push``) when a Prefect API is configured. The push is recorded in the audit log.
"""

from __future__ import annotations

from typing import Any

import bentoml
import pandas as pd

from data_contracts.bars import RAW_COLUMNS
from ingestion.events import emit_arrival
from ingestion.intake import Intake, accept_bars
from serving.http import caller, error, guarded
from serving.schemas import BarsPushRequest, BarsPushResult, PushedSeries, RejectedBar, server_now
from store import records

FEEDER = "feeder"


def push_source(user_name: str, label: str | None) -> str:
    """The source name stored with pushed bars: ``push:<user>`` (``:<label>`` when the caller gave one)."""
    return f"push:{user_name}" + (f":{label}" if label else "")


def _text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)[:64]


def push_result(intake: Intake, event_id: str | None) -> BarsPushResult:
    """The API form of one intake of pushed bars."""
    rejected = [RejectedBar(index=int(r["row"]), reason=str(r["reason"]), symbol=_text(r.get("symbol")),
                            timeframe=_text(r.get("timeframe")), ts=_text(r.get("ts")))
                for r in intake.rejected.to_dict("records")]
    series = [PushedSeries(symbol=s.symbol, timeframe=s.timeframe, first_ts=s.first_ts, last_ts=s.last_ts,
                           received=s.read, inserted=s.inserted, merged=s.merged, quarantined=s.quarantined)
              for s in intake.series]
    return BarsPushResult(source=intake.source, received=intake.read, inserted=intake.inserted,
                          merged=sum(s.merged for s in intake.series), quarantined=intake.quarantined,
                          series=series, rejected=sorted(rejected, key=lambda r: r.index), event_id=event_id)


def store_push(db_url: str, request: BarsPushRequest, source: str, actor: str) -> BarsPushResult:
    """Contract, store and announce the pushed bars (blocking: database and Prefect API calls)."""
    frame = pd.DataFrame([b.model_dump() for b in request.bars], columns=RAW_COLUMNS, dtype=object)
    intake = accept_bars(db_url, frame, source, now=server_now())  # a bar after the server clock: quarantined
    event_id = emit_arrival(intake, "push")
    result = push_result(intake, event_id)
    records.audit(db_url, actor, "bars.push", source,
                  {"received": result.received, "inserted": result.inserted, "merged": result.merged,
                   "quarantined": result.quarantined, "event_id": event_id,
                   "series": [f"{s.symbol}/{s.timeframe}" for s in result.series][:100]})
    return result


class BarRoutes:
    """POST ``/ml/bars`` (feeder role or admin)."""

    @bentoml.api(route="/ml/bars")
    def bars_push(self, request: BarsPushRequest, /, ctx: bentoml.Context) -> BarsPushResult:
        """Feeder: push up to 10,000 raw bars; valid rows are stored, invalid ones quarantined with reasons."""
        user = caller(ctx)
        if not user.may(FEEDER):
            return error(403, "POST /ml/bars needs a key with the feeder role (or an admin key): "
                              "abtpro users create NAME --role feeder", ctx)
        source = push_source(user.name, request.source)
        return guarded(lambda: store_push(self.db_url, request, source, user.name), ctx)
