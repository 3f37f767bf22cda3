"""Resolved outcomes per series for the win-rate factor, read at most every few seconds."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import pandas as pd

from store import outcomes


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
