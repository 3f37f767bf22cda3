"""Model answers memoised per exact request key (model version, window key, origin, options): the scores and
forecasts themselves come from :mod:`ml.inference`."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ml import inference
from registry import LoadedModel
from serving.inference.bars import BarWindow
from serving.inference.outcomes import LiveOutcomes


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
                  contexts: LRUCache | None = None,
                  others: Mapping[str, BarWindow] | None = None) -> list[inference.SignalScore]:
    """:func:`ml.inference.score` of signals at the given bar positions (one call for all cache misses), with the
    series' outcomes resolved since training (``live``) in the win-rate factor, each signal's trade plan
    (``stop_loss``, ``take_profit``, ``stop_multiple``, ``take_multiple``; None = the training barriers) and its
    strategy-supplied numbers (``caller_*`` columns). ``contexts`` memoises the bar-derived features per window
    (shared by the signals of every strategy and side on it). ``others``: the windows of the other series a
    cross-asset scorer reads (:func:`serving.inference.bars.context_windows`); their keys are part of every key
    here, so new bars of any of them are a new answer."""
    token = None if live is None else live.token
    others = dict(others or {})
    others_key = tuple((s, others[s].key) for s in sorted(others))
    plans = list(plans) if plans is not None else [{}] * len(positions)
    callers = list(callers) if callers is not None else [{}] * len(positions)
    keys = [("sig", model.name, model.version, symbol, strategy, window.key, others_key, p, s, float(w), explain,
             token,
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
                                                                                     window.key, others_key)},
                                 memo=None if contexts is None else contexts.get_or_compute,
                                 closes={s: w.frame["close"] for s, w in others.items()})
        for i, out in zip(todo, scored):
            results[i] = out
            cache.put(keys[i], out)
    return results  # type: ignore[return-value]


def group_indices(keys: Sequence[Hashable]) -> dict[Hashable, list[int]]:
    """Positions of equal keys, in first-seen order."""
    groups: dict[Hashable, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return groups
