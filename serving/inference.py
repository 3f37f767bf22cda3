"""Bars behind the endpoints and the memo of model answers; the answers themselves come from ``ml``.

Scores and forecasts are computed only by the inference API :mod:`ml.inference` (``score`` and
``predict``), whose features are the training code's. This module finds the bars (the stored
``N`` bars up to the forecast origin / signal bar, or the ones given in the request) and memoises
answers.

Every computation is causal, so a result depends only on the model version and the bars up to
its origin. Results are memoised in a small LRU keyed by exactly that: (model name, version,
a hash of the bars' timestamps and values, origin, request options). A request about an
unchanged bar window is answered without recomputing features; any change of a bar (a new bar,
a merged correction) changes the hash and recomputes.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ml import inference
from ml.datasets import BAR_COLUMNS
from ml.inference import BadInputError
from registry import LoadedModel
from serving.schemas import Bar
from store import outcomes, windows

__all__ = ["BadInputError", "BarWindow", "LRUCache", "NotFoundError", "contract_inline", "group_indices", "load_bars",
           "origin_positions", "predict_volatility", "score_signals", "signal_history_bars", "window_from_request"]


class NotFoundError(LookupError):
    """The symbol (or the requested bar) is not in the store and the request carries no bars."""


class LRUCache:
    """A thread-safe LRU map (size 0 disables it)."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def get_or_compute(self, key: Hashable, compute: Any) -> Any:
        """The value of ``key``, computed by ``compute()`` and kept when absent (two threads may both compute
        it once; the values are equal)."""
        value = self.get(key)
        if value is None:
            value = compute()
            self.put(key, value)
        return value


# ----------------------------------------------------------------------------------------- bars


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


# ------------------------------------------------------------------ model answers, memoised per request key


def predict_volatility(model: LoadedModel, symbol: str, window: BarWindow, positions: Sequence[int],
                       coverage: float, explain: bool, cache: LRUCache) -> list[inference.Forecast]:
    """:func:`ml.inference.predict` at the given bar positions (one call for all cache misses)."""
    keys = [("vol", model.name, model.version, symbol, window.key, p, coverage, explain) for p in positions]
    results: list[inference.Forecast | None] = [cache.get(k) for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    if todo:
        requests = pd.DataFrame({"symbol": symbol, "as_of": [window.ts[positions[i]] for i in todo],
                                 "coverage": coverage})
        for i, out in zip(todo, inference.predict(model.model, {symbol: window.frame}, requests, explain=explain)):
            results[i] = out
            cache.put(keys[i], out)
    return results  # type: ignore[return-value]


def signal_history_bars(model: LoadedModel, configured: int) -> int:
    """Bars to read before a signal: the setting, or more if the model's feature windows need them."""
    return inference.history_bars(model.model, configured)


def score_signals(model: LoadedModel, symbol: str, strategy: str, window: BarWindow,
                  positions: Sequence[int], sides: Sequence[int], strengths: Sequence[float],
                  explain: bool, cache: LRUCache, live: LiveOutcomes | None = None,
                  plans: Sequence[dict[str, float | None]] | None = None,
                  callers: Sequence[dict[str, float]] | None = None,
                  contexts: LRUCache | None = None) -> list[inference.SignalScore]:
    """:func:`ml.inference.score` of signals at the given bar positions (one call for all cache misses), with the
    series' outcomes resolved since training (``live``) in the win-rate factor, each signal's trade plan
    (``stop_loss``, ``take_profit``, ``stop_multiple``, ``take_multiple``; None = the training barriers) and its
    strategy-supplied numbers (``caller_*`` columns). ``contexts`` memoises the bar-derived features per window
    (shared by the signals of every strategy and side on it)."""
    token = None if live is None else live.token
    plans = list(plans) if plans is not None else [{}] * len(positions)
    callers = list(callers) if callers is not None else [{}] * len(positions)
    keys = [("sig", model.name, model.version, symbol, strategy, window.key, p, s, float(w), explain, token,
             tuple(sorted(plan.items())), tuple(sorted(given.items())))
            for p, s, w, plan, given in zip(positions, sides, strengths, plans, callers)]
    results: list[inference.SignalScore | None] = [cache.get(k) for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    if todo:
        signals = pd.DataFrame({"symbol": symbol, "strategy": strategy,
                                "ts": [window.ts[positions[i]] for i in todo],
                                "side": [int(sides[i]) for i in todo],
                                "strength": [float(strengths[i]) for i in todo],
                                **{k: [plans[i].get(k) for i in todo] for k in inference.PLAN_COLUMNS},
                                **{k: [callers[i].get(k, np.nan) for i in todo]
                                   for k in sorted({k for i in todo for k in callers[i]})}})
        scored = inference.score(model.model, {symbol: window.frame}, signals, explain=explain,
                                 live_history=None if live is None else live.frame,
                                 window_keys=None if contexts is None else {symbol: (model.name, model.version,
                                                                                     window.key)},
                                 memo=None if contexts is None else contexts.get_or_compute)
        for i, out in zip(todo, scored):
            results[i] = out
            cache.put(keys[i], out)
    return results  # type: ignore[return-value]


@dataclass(frozen=True)
class LiveOutcomes:
    """A series' resolved outcomes as read at one time; ``token`` changes when they do (a cache-key part)."""

    frame: pd.DataFrame
    token: tuple


class OutcomeHistory:
    """Resolved outcomes per series for the win-rate factor, read from :mod:`store.outcomes` at most every
    ``ttl`` seconds per series, and at once after a report to this process."""

    def __init__(self, db_url: str, ttl: float) -> None:
        self.db_url, self.ttl = db_url, ttl
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, LiveOutcomes]] = {}

    def get(self, symbol: str, timeframe: str) -> LiveOutcomes:
        key, now = (symbol, timeframe), time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and now - entry[0] < self.ttl:
            return entry[1]
        frame = outcomes.resolved_history(self.db_url, symbol, timeframe)
        live = LiveOutcomes(frame, (len(frame), int(pd.util.hash_pandas_object(frame, index=False).sum())))
        with self._lock:
            self._entries[key] = (now, live)
        return live

    def forget(self, symbol: str, timeframe: str) -> None:
        with self._lock:
            self._entries.pop((symbol, timeframe), None)


def group_indices(keys: Sequence[Hashable]) -> dict[Hashable, list[int]]:
    """Positions of equal keys, in first-seen order."""
    groups: dict[Hashable, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return groups

