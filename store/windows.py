"""Bar windows for the request path: the stored bars an answer is computed from, as plain tuples.

No pandas here: this runs on every API request, and building a frame costs more than the query (the
caller builds one only on a cache miss). Timestamps are naive UTC, like the stored ones.
"""

from __future__ import annotations

import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select

from store.db import get_engine
from store.models import BarSeries, MarketBar

_BAR_COLS = (MarketBar.ts, MarketBar.open, MarketBar.high, MarketBar.low, MarketBar.close, MarketBar.volume)


class NoBarsError(LookupError):
    """No stored bars of (symbol, timeframe) at all (``before`` None), or none at or before ``before``."""

    def __init__(self, symbol: str, timeframe: str, before: datetime | None):
        where = "" if before is None else f" at or before {before.isoformat()}"
        super().__init__(f"no {timeframe} bars of {symbol!r}{where}")
        self.symbol, self.timeframe, self.before = symbol, timeframe, before


def bar_rows(url: str, symbol: str, timeframe: str, start: datetime | None = None, end: datetime | None = None,
             last: int | None = None) -> list[tuple]:
    """Stored bars ``(ts, open, high, low, close, volume)`` in ``[start, end]``, oldest first; with ``last``,
    only the newest ``last`` of them."""
    cond = [MarketBar.symbol == symbol, MarketBar.timeframe == timeframe]
    if start is not None:
        cond.append(MarketBar.ts >= start)
    if end is not None:
        cond.append(MarketBar.ts <= end)
    stmt = select(*_BAR_COLS).where(*cond).order_by(MarketBar.ts.desc() if last else MarketBar.ts)
    if last:
        stmt = stmt.limit(last)
    with get_engine(url).connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt).all()]
    if last:
        rows.reverse()
    return rows


def start_for(url: str, symbol: str, timeframe: str, origin: datetime, n: int) -> datetime | None:
    """Timestamp of the ``n``-th bar at or before ``origin`` (None: fewer bars than that)."""
    stmt = (select(MarketBar.ts).where(MarketBar.symbol == symbol, MarketBar.timeframe == timeframe,
                                       MarketBar.ts <= origin)
            .order_by(MarketBar.ts.desc()).limit(n))
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).scalars().all()
    return rows[-1] if rows else None


def window_rows(url: str, symbol: str, timeframe: str, origins: Sequence[datetime | None], n: int) -> list[tuple]:
    """Stored bars covering ``n`` bars up to each origin (naive UTC; None = the latest bar), oldest first.

    Raises:
        NoBarsError: no stored bars of (symbol, timeframe) (``before`` None), or none at or before the
            earliest origin (``before`` set).
    """
    explicit = [o for o in origins if o is not None]
    end = max(explicit) if explicit and len(explicit) == len(origins) else None
    if not explicit or (end is not None and min(explicit) == end):
        rows = bar_rows(url, symbol, timeframe, None, end, n)
    else:
        start = start_for(url, symbol, timeframe, min(explicit), n)
        rows = bar_rows(url, symbol, timeframe, start, end, None)
    if not rows:
        if end is not None and bar_rows(url, symbol, timeframe, None, None, 1):
            raise NoBarsError(symbol, timeframe, min(explicit))
        raise NoBarsError(symbol, timeframe, None)
    return rows


#: Built once: constructing the select on every request cost more than running it (130 vs 50 us on SQLite).
_REVISION = select(BarSeries.revision).where(BarSeries.symbol == bindparam("symbol"),
                                             BarSeries.timeframe == bindparam("timeframe"))


def series_revision(url: str, symbol: str, timeframe: str) -> int | None:
    """The series' current revision token (:class:`store.models.BarSeries`); None when it has no bars."""
    with get_engine(url).connect() as conn:
        return conn.execute(_REVISION, {"symbol": symbol, "timeframe": timeframe}).scalar_one_or_none()


def series_revisions(url: str, limit: int) -> list[tuple[str, str, int]]:
    """``(symbol, timeframe, revision)`` of the ``limit`` most recently written series, newest first."""
    stmt = (select(BarSeries.symbol, BarSeries.timeframe, BarSeries.revision)
            .order_by(BarSeries.updated_at.desc(), BarSeries.id.desc()).limit(limit))
    with get_engine(url).connect() as conn:
        return [(str(s), str(t), int(r)) for s, t, r in conn.execute(stmt).all()]


@dataclass(frozen=True)
class _Series:
    revision: int
    rows: list[tuple]
    ts: list[datetime]
    complete: bool  # the rows are the whole series (fewer than were asked for)


@dataclass(frozen=True)
class Window:
    """Bars of one request and a key naming them exactly (series revision and row range, or None)."""

    rows: list[tuple]
    key: str | None


def slice_window(ts: Sequence[datetime], origins: Sequence[datetime | None], n: int,
                 complete: bool) -> tuple[int, int] | None:
    """The row range ``[lo, hi)`` of sorted bar times ``ts`` that :func:`window_rows` returns for ``origins`` and
    ``n``; None when ``ts`` (the newest rows of a series, the whole series when ``complete``) cannot tell or the
    range is empty (then :func:`window_rows` decides, errors included)."""
    explicit = [o for o in origins if o is not None]
    end = max(explicit) if explicit and len(explicit) == len(origins) else None
    hi = len(ts) if end is None else bisect_right(ts, end)
    first = hi if not explicit or (end is not None and min(explicit) == end) else bisect_right(ts, min(explicit))
    lo = first - n
    if lo < 0:
        if not complete:
            return None
        lo = 0
    return (lo, hi) if hi > lo else None


class CachedWindows:
    """:func:`window_rows` answered from memory: the newest ``keep`` bars of each recently used series, re-read
    only when the series' revision changes (a key lookup per request, not hundreds of rows).

    The revision is read before the rows, so a write between the two can only make the cache re-read once
    more, never keep rows older than their revision. At most ``series`` series are kept (least recently used
    first out); ``keep`` 0 turns the cache off.
    """

    def __init__(self, url: str, keep: int, series: int = 256):
        self.url, self.keep, self.max_series = url, keep, series
        self._data: OrderedDict[tuple[str, str], _Series] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.reads = 0

    def _series(self, symbol: str, timeframe: str) -> _Series | None:
        revision = series_revision(self.url, symbol, timeframe)
        if revision is None:
            return None
        key = (symbol, timeframe)
        with self._lock:
            cached = self._data.get(key)
            if cached is not None and cached.revision == revision:
                self._data.move_to_end(key)
                self.hits += 1
                return cached
        rows = bar_rows(self.url, symbol, timeframe, last=self.keep)
        fresh = _Series(revision, rows, [r[0] for r in rows], len(rows) < self.keep)
        with self._lock:
            self.reads += 1
            self._data[key] = fresh
            self._data.move_to_end(key)
            while len(self._data) > self.max_series:
                self._data.popitem(last=False)
        return fresh

    def window(self, symbol: str, timeframe: str, origins: Sequence[datetime | None], n: int) -> Window:
        """The bars :func:`window_rows` returns (same errors), with a key when they came from memory."""
        series = self._series(symbol, timeframe) if 0 < n <= self.keep else None
        span = None if series is None else slice_window(series.ts, origins, n, series.complete)
        if series is None or span is None:
            return Window(window_rows(self.url, symbol, timeframe, origins, n), None)
        lo, hi = span
        return Window(series.rows[lo:hi], f"{symbol}|{timeframe}|{series.revision}|{lo}|{hi}")
