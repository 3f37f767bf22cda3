"""Feature lookup and model evaluation behind the endpoints.

Features come from the same ``ml`` code as in training: a volatility estimator's own
``predict_frame`` (which calls :func:`ml.features.compute_features`) and
:func:`ml.signal_quality.build_signal_features` for signals. The bars are the stored ones (the
``N`` bars up to the forecast origin / signal bar) or the ones given in the request.

Every computation is causal, so a result depends only on the model version and the bars up to
its origin. Results are memoised in a small LRU keyed by exactly that: (model name, version,
a hash of the bars' timestamps and values, origin, request options). A request about an
unchanged bar window is answered without recomputing features; any change of a bar (a new bar,
a merged correction) changes the hash and recomputes.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ml.datasets import BAR_COLUMNS
from registry import LoadedModel
from serving.models import signal_parts, volatility_estimator
from serving.schemas import Bar
from store import windows

TOP_K = 8


class NotFoundError(LookupError):
    """The symbol (or the requested bar) is not in the store and the request carries no bars."""


class BadInputError(ValueError):
    """A request that is well-formed but cannot be answered; ``field`` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


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


# ----------------------------------------------------------------------------------------- bars


def bars_from_request(bars: Sequence[Bar]) -> pd.DataFrame:
    """Inline bars as a bars frame (``ts`` index, float OHLCV), oldest first."""
    frame = pd.DataFrame([b.model_dump() for b in bars])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True).dt.tz_localize(None)
    frame = frame.set_index("ts").sort_index()[BAR_COLUMNS].astype("float64")
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

    def __init__(self, rows: list[tuple] | None = None, frame: pd.DataFrame | None = None):
        self._rows = rows
        self._frame = frame
        if rows is not None:
            self.ts = [r[0] for r in rows]
            self.key = f"r{len(rows)}:{hash(tuple(rows))}"
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


def load_bars(url: str, symbol: str, timeframe: str, origins: Sequence[datetime | None], n: int) -> BarWindow:
    """Stored bars covering ``n`` bars up to each origin (None = the latest bar), read by :mod:`store.windows`.

    Raises:
        NotFoundError: no stored bars of (symbol, timeframe), or none at or before the origins.
    """
    try:
        return BarWindow(rows=windows.window_rows(url, symbol, timeframe, [_naive_utc(o) for o in origins], n))
    except windows.NoBarsError as exc:
        if exc.before is not None:
            raise NotFoundError(str(exc)) from None
        raise NotFoundError(f"unknown symbol {symbol!r} (timeframe {timeframe}): no bars in the store; "
                            f"ingest them or pass 'bars' in the request") from None


def window_from_request(bars: Sequence[Bar]) -> BarWindow:
    """Inline bars as a :class:`BarWindow`."""
    return BarWindow(frame=bars_from_request(bars))


def origin_positions(window: BarWindow, origins: Sequence[datetime | None], field: str) -> list[int]:
    """Position of the last bar at or before each origin (None = the last bar)."""
    import bisect

    out = []
    for origin in origins:
        if origin is None:
            out.append(len(window) - 1)
            continue
        pos = bisect.bisect_right(window.ts, _naive_utc(origin)) - 1
        if pos < 0:
            raise NotFoundError(f"no bar at or before {field}={origin.isoformat()}")
        out.append(pos)
    return out


def content_hash(bars: pd.DataFrame) -> str:
    """Digest of a bars frame's timestamps and values (the cache key of everything derived from it)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(np.ascontiguousarray(bars.index.asi8).tobytes())
    h.update(np.ascontiguousarray(bars[BAR_COLUMNS].to_numpy(dtype="float64")).tobytes())
    return h.hexdigest()


def clean_features(row: pd.Series) -> dict[str, float | None]:
    """A feature row as JSON-safe floats (NaN/inf -> None)."""
    return {str(k): (float(v) if v is not None and math.isfinite(float(v)) else None) for k, v in row.items()}


def feature_dicts(frame: pd.DataFrame, positions: Sequence[int]) -> list[dict[str, float | None]]:
    """Rows ``positions`` of a feature frame as JSON-safe dicts (vectorised: no per-row pandas access)."""
    names = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype="float64")[list(positions)]
    finite = np.isfinite(values)
    return [{n: (v if ok else None) for n, v, ok in zip(names, row.tolist(), mask.tolist())}
            for row, mask in zip(values, finite)]


# ----------------------------------------------------------------------------------- volatility


@dataclass(frozen=True)
class VolatilityOut:
    as_of: datetime
    horizon_bars: int
    predicted: float
    lower: float
    upper: float
    features: dict[str, float | None]
    explanation: dict[str, Any] | None


def _xgb_member(estimator: Any) -> tuple[Any, float] | None:
    """The XGBoost volatility model inside ``estimator`` and its weight on the output's ln variance."""
    from ml.volatility import EnsembleModel, XgbModel

    if isinstance(estimator, XgbModel):
        return estimator, 1.0
    if isinstance(estimator, EnsembleModel) and hasattr(estimator, "members_"):
        for name, member, weight in zip(estimator.members, estimator.members_, estimator.weights_):
            if isinstance(member, XgbModel):
                return member, float(weight)
    return None


def volatility_explanations(estimator: Any, bars: pd.DataFrame, features: pd.DataFrame,
                            positions: Sequence[int]) -> dict[int, dict[str, Any]]:
    """TreeSHAP contributions (``pred_contribs``) of the XGB member to the forecast's ln variance."""
    found = _xgb_member(estimator)
    if found is None:
        note = (f"{type(estimator).__name__} has no XGBoost member; feature contributions are only "
                f"available for XGBoost-based volatility models")
        return {p: {"method": None, "note": note, "contributions": []} for p in positions}
    import xgboost as xgb

    member, weight = found
    margin = member._margin(bars)
    rows = features.iloc[list(positions)][list(member.feature_names_in_)]
    dm = xgb.DMatrix(rows, base_margin=margin.iloc[list(positions)].to_numpy())
    contribs = member.booster_.get_booster().predict(dm, pred_contribs=True)[:, :-1] * weight
    names = list(rows.columns)
    out = {}
    for i, p in enumerate(positions):
        order = np.argsort(-np.abs(contribs[i]))[:TOP_K]
        out[p] = {
            "method": "xgboost_pred_contribs",
            "units": "ln variance of the forecast (XGBoost member's residual over its log-HAR base"
                     + (f", times its ensemble weight {weight:.3g})" if weight != 1.0 else ")"),
            "contributions": [{"feature": names[j], "value": _finite(rows.iloc[i, j]),
                               "contribution": float(contribs[i, j])} for j in order],
            "note": None,
        }
    return out


def _finite(v: Any) -> float | None:
    v = float(v)
    return v if math.isfinite(v) else None


def predict_volatility(model: LoadedModel, symbol: str, window: BarWindow, positions: Sequence[int],
                       coverage: float, explain: bool, cache: LRUCache) -> list[VolatilityOut]:
    """Forecasts at the given bar positions (one vectorised pass for all cache misses)."""
    from ml.features import compute_features

    keys = [("vol", model.name, model.version, symbol, window.key, p, coverage, explain) for p in positions]
    results: list[VolatilityOut | None] = [cache.get(k) for k in keys]
    missing = sorted({p for p, r in zip(positions, results) if r is None})
    if missing:
        estimator = volatility_estimator(model.model, symbol)
        horizon = int(getattr(estimator, "horizon", None) or model.model.metadata.get("horizon"))
        frame = window.frame.iloc[: missing[-1] + 1]
        out = estimator.predict_frame(frame, coverage=coverage)
        feats = compute_features(frame)
        expl = volatility_explanations(estimator, frame, feats, missing) if explain else {}
        forecast, lower, upper = (out[c].to_numpy(dtype="float64") for c in ("forecast", "lower", "upper"))
        features = feature_dicts(feats, missing)
        fresh = {}
        for p, feat in zip(missing, features):
            if not np.isfinite(forecast[p]):
                raise BadInputError("as_of", f"not enough history before {window.ts[p]} to forecast "
                                              f"{symbol!r} ({p + 1} bars available)")
            fresh[p] = VolatilityOut(window.ts[p], horizon, float(forecast[p]), float(lower[p]), float(upper[p]),
                                     feat, expl.get(p))
        for i, (k, p) in enumerate(zip(keys, positions)):
            if results[i] is None:
                results[i] = fresh[p]
                cache.put(k, fresh[p])
    return results  # type: ignore[return-value]


# ------------------------------------------------------------------------------------- signals


_PARTS: dict[tuple[str, str, str, str], tuple[Any, Any, Any]] = {}
_PARTS_LOCK = threading.Lock()


def signal_model_parts(model: LoadedModel, symbol: str, strategy: str) -> tuple[Any, Any, Any]:
    """:func:`serving.models.signal_parts` memoised per (model version, symbol, strategy)."""
    key = (model.name, model.version, symbol, strategy)
    parts = _PARTS.get(key)
    if parts is None:
        parts = signal_parts(model.model, symbol, strategy)
        with _PARTS_LOCK:
            if len(_PARTS) > 1024:
                _PARTS.clear()
            _PARTS[key] = parts
    return parts


def signal_history_bars(model: LoadedModel, symbol: str, strategy: str, configured: int) -> int:
    """Bars to read before a signal: the setting, or more if the model's feature windows need them."""
    config = signal_model_parts(model, symbol, strategy)[1]
    return max(configured, int(getattr(config, "min_history_bars", configured)))


@dataclass(frozen=True)
class SignalOut:
    ts: datetime
    score: float
    confidence: float
    prediction: str
    threshold: float | None
    features: dict[str, float | None]
    explanation: dict[str, Any] | None


def score_signals(model: LoadedModel, symbol: str, strategy: str, window: BarWindow,
                  positions: Sequence[int], sides: Sequence[int], strengths: Sequence[float],
                  explain: bool, cache: LRUCache) -> list[SignalOut]:
    """Quality scores of signals at the given bar positions (one feature pass for all cache misses)."""
    from ml.signal_quality import build_signal_features
    from ml.strategies import STRATEGIES

    if strategy not in STRATEGIES:
        raise BadInputError("strategy", f"unknown strategy {strategy!r}; the scorer knows {sorted(STRATEGIES)}")
    keys = [("sig", model.name, model.version, symbol, strategy, window.key, p, s, float(w), explain)
            for p, s, w in zip(positions, sides, strengths)]
    results: list[SignalOut | None] = [cache.get(k) for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    if todo:
        scorer, config, history = signal_model_parts(model, symbol, strategy)
        need = config.trend_slow + 1
        for i in todo:
            if positions[i] + 1 < need:
                raise BadInputError("ts", f"not enough history before {window.ts[positions[i]]} to score "
                                          f"{symbol!r}: need at least {need} bars, have {positions[i] + 1}")
        frame = window.frame.iloc[: max(positions[i] for i in todo) + 1]
        signals = pd.DataFrame({"side": [int(sides[i]) for i in todo],
                                "strength": [float(strengths[i]) for i in todo]},
                               index=pd.DatetimeIndex(frame.index[[positions[i] for i in todo]], name="ts"))
        X = build_signal_features(frame, signals, history, strategy, config)
        scored = scorer.score_signals(X, signals["side"].to_numpy())
        threshold = getattr(scorer, "threshold_", None)
        expl: dict[int, dict[str, Any]] = {}
        if explain:
            expl = signal_explanations(scorer, X)
        score = scored["score"].to_numpy(dtype="float64")
        conf = scored["confidence"].to_numpy(dtype="float64")
        pred = scored["prediction"].astype(str).tolist()
        features = feature_dicts(X, range(len(todo)))
        thr = None if threshold is None else float(threshold)
        for j, i in enumerate(todo):
            out = SignalOut(window.ts[positions[i]], float(score[j]), float(conf[j]), pred[j], thr, features[j],
                            expl.get(j))
            results[i] = out
            cache.put(keys[i], out)
    return results  # type: ignore[return-value]


def signal_explanations(scorer: Any, X: pd.DataFrame) -> dict[int, dict[str, Any]]:
    """Top TreeSHAP contributions (log-odds of the raw booster) per row, or a note when unavailable."""
    if not hasattr(scorer, "feature_contributions"):
        note = f"{type(scorer).__name__} has no tree booster; no feature contributions"
        return {j: {"method": None, "note": note, "contributions": []} for j in range(len(X))}
    contrib = scorer.feature_contributions(X.reset_index(drop=True), top_k=TOP_K)
    out: dict[int, dict[str, Any]] = {}
    for row, group in contrib.groupby("row", sort=True):
        out[int(row)] = {
            "method": "xgboost_pred_contribs",
            "units": "log-odds of the uncalibrated booster",
            "contributions": [{"feature": str(r.feature), "value": _finite(r.value),
                               "contribution": float(r.contribution)} for r in group.itertuples()],
            "note": None,
        }
    return out


def group_indices(keys: Sequence[Hashable]) -> dict[Hashable, list[int]]:
    """Positions of equal keys, in first-seen order."""
    groups: dict[Hashable, list[int]] = {}
    for i, k in enumerate(keys):
        groups.setdefault(k, []).append(i)
    return groups


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), seconds)``."""
    import time

    t0 = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - t0
