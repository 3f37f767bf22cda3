"""The one write path of raw bars, shared by every source and by the push API (``POST /ml/bars``).

:func:`accept_bars` applies the raw-bar contract (:mod:`data_contracts.bars`) to a raw long frame, upserts the
valid rows (idempotent: the same bars again insert nothing), quarantines every invalid row with its reason
(idempotent too) and says, per series, what arrived: rows read, inserted, merged, quarantined and the range
of bar timestamps stored. Nothing is dropped: ``read == inserted + merged + quarantined`` per series.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from data_contracts.bars import split_valid_invalid
from store import bars as store


@dataclass(frozen=True)
class SeriesIntake:
    """What one (symbol, timeframe) of one intake read and stored."""

    symbol: str
    timeframe: str
    read: int
    inserted: int
    merged: int
    quarantined: int
    first_ts: str | None = None  # ISO timestamps of the valid bars stored (None when none was valid)
    last_ts: str | None = None


@dataclass(frozen=True)
class Intake:
    """The result of one :func:`accept_bars` call."""

    source: str
    series: list[SeriesIntake] = field(default_factory=list)
    rejected: pd.DataFrame = field(default_factory=pd.DataFrame)  # invalid rows: ``row`` (position), ``reason``
    newly_quarantined: int = 0

    @property
    def read(self) -> int:
        return sum(s.read for s in self.series)

    @property
    def stored(self) -> int:
        return sum(s.inserted + s.merged for s in self.series)

    @property
    def inserted(self) -> int:
        return sum(s.inserted for s in self.series)

    @property
    def quarantined(self) -> int:
        return sum(s.quarantined for s in self.series)

    def arrived(self) -> list[SeriesIntake]:
        """The series that got at least one new bar (a re-sent bar, even a corrected one, announces nothing: the
        upsert cannot tell a changed bar from an identical one, and a re-push must change nothing downstream)."""
        return [s for s in self.series if s.inserted > 0]


def _label(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def accept_bars(url: str, raw: pd.DataFrame, source: str, chunk_rows: int = 50_000,
                now: datetime | None = None) -> Intake:
    """Contract, upsert and quarantine one raw frame (see the module docstring).

    Args:
        url: app database URL.
        raw: long frame ``symbol, timeframe, ts, open, high, low, close, volume`` as read (strings allowed).
        source: the source's name, stored with every bar and quarantined row (at most 500 characters).
        chunk_rows: rows per bulk-insert batch.
        now: the clock (naive UTC) of a live source: bars stamped after it are quarantined ``ts: in the future``
            (the push API passes the server clock; None: no such check, e.g. a file of history).
    """
    source = source[:500]
    raw = raw.reset_index(drop=True)
    split = split_valid_invalid(raw, now=now)
    rejected = split.invalid.copy()
    newly = store.quarantine_rows(url, split.invalid, source) if len(split.invalid) else 0
    rejected.insert(0, "row", list(split.invalid_positions))  # position in ``raw``
    results, ranges = {}, {}
    for (symbol, timeframe), group in split.valid.groupby(["symbol", "timeframe"]):
        results[(symbol, timeframe)] = store.upsert_bars(url, group.assign(source=source), chunk_rows=chunk_rows)
        ranges[(symbol, timeframe)] = (pd.Timestamp(group["ts"].min()).isoformat(),
                                       pd.Timestamp(group["ts"].max()).isoformat())
    bad = (split.invalid.assign(symbol=split.invalid["symbol"].map(_label),
                                timeframe=split.invalid["timeframe"].map(_label))
           .groupby(["symbol", "timeframe"]).size().to_dict()) if len(split.invalid) else {}
    series = []
    for symbol, timeframe in sorted(set(results) | set(bad)):
        res = results.get((symbol, timeframe), store.UpsertResult(0, 0))
        first, last = ranges.get((symbol, timeframe), (None, None))
        n_bad = int(bad.get((symbol, timeframe), 0))
        series.append(SeriesIntake(symbol, timeframe, res.inserted + res.merged + n_bad, res.inserted, res.merged,
                                   n_bad, first, last))
    return Intake(source, series, rejected, newly)
