"""Pushed bars: a feed's raw bars (each cell checked by the raw-bar contract, a bad row quarantined, not
refused) and the push's counts per series.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from serving.schemas.common import _Strict

MAX_PUSH_BARS = 10_000
_Cell = StrictInt | StrictFloat | Annotated[StrictStr, Field(max_length=64)] | None
_Text = Annotated[StrictStr, Field(max_length=64)] | None


class PushBar(_Strict):
    """One raw bar as a feed sends it: each cell a number, a string or null; the raw-bar contract of file
    ingestion decides (an invalid row is quarantined with its reason, not refused: a non-finite number as
    ``<column>: not finite``, a bar after the server clock as ``ts: in the future``)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=True)  # the contract quarantines them, per row

    symbol: _Text = None
    timeframe: _Text = None
    ts: _Text = Field(default=None, description="ISO 8601 timestamp (naive = UTC).")
    open: _Cell = None
    high: _Cell = None
    low: _Cell = None
    close: _Cell = None
    volume: _Cell = None


class BarsPushRequest(_Strict):
    """Up to 10,000 bars of any symbols and timeframes."""

    bars: list[PushBar] = Field(min_length=1, max_length=MAX_PUSH_BARS)
    source: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9._:\-]*$",
                               description="Optional label of the feed, stored as push:<user>:<source>.")


class RejectedBar(BaseModel):
    """A pushed bar that failed the contract (quarantined): its position in the request and why."""

    index: int
    reason: str
    symbol: str | None = None
    timeframe: str | None = None
    ts: str | None = None


class PushedSeries(BaseModel):
    """What one (symbol, timeframe) of the push stored."""

    symbol: str
    timeframe: str
    first_ts: str | None = None
    last_ts: str | None = None
    received: int
    inserted: int
    merged: int
    quarantined: int


class BarsPushResult(BaseModel):
    """Counts of the push (received = inserted + merged + quarantined), per series, and the event emitted."""

    source: str
    received: int
    inserted: int
    merged: int
    quarantined: int
    series: list[PushedSeries]
    rejected: list[RejectedBar]
    event_id: str | None = None

