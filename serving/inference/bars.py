"""The bars a request is answered from: the stored window up to each origin (from the service's in-memory
windows), or the request's own bars under the raw-bar contract; and where each origin sits in them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ml.datasets import BAR_COLUMNS
from ml.inference import BadInputError
from serving.schemas import Bar
from store import windows


class NotFoundError(LookupError):
    """The symbol (or the requested bar) is not in the store and the request carries no bars."""


def bars_from_request(bars: Sequence[Bar]) -> pd.DataFrame:
    """Inline bars as a bars frame (``ts`` index, float OHLCV), in the request's order (the request schema has
    checked it is strictly increasing: nothing is re-sorted)."""
    frame = pd.DataFrame([b.model_dump() for b in bars])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_localize(None)
    frame = frame.set_index("ts")[BAR_COLUMNS].astype("float64")
    if frame.index.has_duplicates:
        raise BadInputError("bars", "bars have duplicate timestamps")
    return frame


def _naive_utc(ts: datetime | None) -> datetime | None:
    if ts is None or ts.tzinfo is None:
        return ts
    return pd.Timestamp(ts).tz_convert("UTC").tz_localize(None).to_pydatetime()


class BarWindow:
    """The bars a request is answered from, with a cheap content key.

    Stored bars arrive as plain rows ``(ts, open, high, low, close, volume)``; the content key is
    computed from the rows themselves and the pandas frame is only built when something has to be
    computed (a cache miss), which keeps a cache hit at well under a millisecond of Python work.
    """

    def __init__(self, rows: list[tuple] | None = None, frame: pd.DataFrame | None = None, key: str | None = None):
        self._rows = rows
        self._frame = frame
        if rows is not None:
            self.ts = [r[0] for r in rows]
            self.key = f"w{key}" if key is not None else f"r{len(rows)}:{hash(tuple(rows))}"
        else:
            assert frame is not None
            self.ts = [t.to_pydatetime() for t in frame.index]
            self.key = "f" + content_hash(frame)

    def __len__(self) -> int:
        return len(self.ts)

    @property
    def frame(self) -> pd.DataFrame:
        """The bars frame (``ts`` index, float64 OHLCV), built on first use."""
        if self._frame is None:
            rows = self._rows or []
            frame = pd.DataFrame(rows, columns=["ts", *BAR_COLUMNS])
            frame["ts"] = pd.to_datetime(frame["ts"])
            self._frame = frame.set_index("ts").astype("float64")
        return self._frame


def load_bars(url: str, symbol: str, timeframe: str, origins: Sequence[datetime | None], n: int,
              cache: windows.CachedWindows | None = None) -> BarWindow:
    """Stored bars covering ``n`` bars up to each origin (None = the latest bar), read by :mod:`store.windows`
    (from ``cache`` when given: the service's in-memory window of each series, keyed by its revision).

    Raises:
        NotFoundError: no stored bars of (symbol, timeframe), or none at or before the origins.
    """
    naive = [_naive_utc(o) for o in origins]
    try:
        if cache is not None:
            window = cache.window(symbol, timeframe, naive, n)
            return BarWindow(rows=window.rows, key=window.key)
        return BarWindow(rows=windows.window_rows(url, symbol, timeframe, naive, n))
    except windows.NoBarsError as exc:
        if exc.before is not None:
            raise NotFoundError(str(exc)) from None
        raise NotFoundError(f"unknown symbol {symbol!r} (timeframe {timeframe}): no bars in the store; "
                            f"ingest them or pass 'bars' in the request") from None


def context_windows(url: str, model: Any, symbol: str, timeframe: str, origins: Sequence[datetime | None], n: int,
                    cache: windows.CachedWindows | None = None) -> dict[str, BarWindow]:
    """The stored windows (``n`` bars up to each origin, same timeframe) of the other series whose closes the
    signal scorer ``model`` reads for ``symbol`` (:meth:`~ml.signal_quality.bundle.ScorerBundle.context_symbols`;
    none for a scorer without the cross-asset context). A series not in the store is left out (its columns are
    NaN). Each window's key names its series revision, so a context computed from them is recomputed when any of
    them gets new bars."""
    out = {}
    for other in model.context_symbols(symbol) if hasattr(model, "context_symbols") else []:
        try:
            out[other] = load_bars(url, other, timeframe, origins, n, cache)
        except NotFoundError:
            continue
    return out


_SHOWN_BAD_BARS = 5


def contract_inline(inline: Sequence[tuple[str, str, Sequence[Bar]]]) -> None:
    """The raw-bar contract of ingestion (:func:`data_contracts.bars.split_valid_invalid`, with the server clock)
    over every request item's inline bars, in one call (``(field, timeframe, bars)`` per item).

    Raises:
        BadInputError: naming the first item with invalid bars (``bars[i]: <reason>``).
    """
    if not inline:
        return
    from data_contracts.bars import split_valid_invalid
    from serving.schemas import server_now

    parts, owners = [], []
    for k, (_, timeframe, bars) in enumerate(inline):
        frame = pd.DataFrame([b.model_dump() for b in bars])
        frame.insert(0, "timeframe", timeframe)
        frame.insert(0, "symbol", f"inline{k}")  # one series per item: items never collide on the key
        parts.append(frame)
        owners += [(k, i) for i in range(len(frame))]
    split = split_valid_invalid(pd.concat(parts, ignore_index=True), now=server_now())
    if not split.invalid_positions:
        return
    first = owners[split.invalid_positions[0]][0]
    problems = [f"bars[{owners[pos][1]}]: {reason}" for pos, reason in zip(split.invalid_positions,
                                                                           split.invalid["reason"])
                if owners[pos][0] == first]
    more = f" (and {len(problems) - _SHOWN_BAD_BARS} more)" if len(problems) > _SHOWN_BAD_BARS else ""
    raise BadInputError(inline[first][0], "; ".join(problems[:_SHOWN_BAD_BARS]) + more)


def window_from_request(bars: Sequence[Bar]) -> BarWindow:
    """Inline bars as a :class:`BarWindow`."""
    return BarWindow(frame=bars_from_request(bars))


def origin_positions(window: BarWindow, origins: Sequence[datetime | None], field: str | Sequence[str],
                     inline: bool = False) -> list[int]:
    """Position of the last bar at or before each origin (None = the last bar).

    ``field`` names the origin in errors (one name, or one per origin). With ``inline`` bars (the caller's), an
    origin after the last of them is a bad request (:class:`BadInputError`): the caller's bars do not reach it.
    """
    import bisect

    names = [field] * len(origins) if isinstance(field, str) else list(field)
    out = []
    for origin, name in zip(origins, names):
        if origin is None:
            out.append(len(window) - 1)
            continue
        moment = _naive_utc(origin)
        pos = bisect.bisect_right(window.ts, moment) - 1
        if pos < 0:
            raise NotFoundError(f"no bar at or before {name}={origin.isoformat()}")
        if inline and moment > window.ts[-1]:
            raise BadInputError(name, f"{origin.isoformat()} is after the last inline bar "
                                      f"({window.ts[-1].isoformat()})")
        out.append(pos)
    return out


def content_hash(bars: pd.DataFrame) -> str:
    """Digest of a bars frame's timestamps and values (the cache key of everything derived from it)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(bars.index.asi8).tobytes())
    h.update(np.ascontiguousarray(bars[BAR_COLUMNS].to_numpy(dtype="float64")).tobytes())
    return h.hexdigest()
