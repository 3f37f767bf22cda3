"""The one inference API: batch signal scores (:func:`score`) and volatility forecasts (:func:`predict`).

Both take the registered model, the bars of every symbol in the batch and a frame with one row per
signal / forecast (symbols and strategies may be mixed). Features are computed once per symbol (and
strategy) over the bars up to the group's last origin, by the training code itself
(:meth:`ml.signal_quality.bundle.ScorerBundle.features`, :func:`ml.features.compute_features`);
each result carries the features it was computed from and, when asked, TreeSHAP contributions
(:mod:`ml.explanations`). Results come back in row order. Bad input raises :class:`BadInputError`
naming the field. Pure: pandas/numpy/xgboost only.

Registered shapes: ``flows.signal_quality`` registers a :class:`~ml.signal_quality.bundle.ScorerBundle`,
``flows.volatility`` a :class:`~ml.bundles.SymbolModels`; anything else is a ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ml.bundles import SymbolModels
from ml.datasets import BAR_COLUMNS
from ml.explanations import signal_explanations, volatility_explanations
from ml.features import compute_features
from ml.signal_quality.bundle import ScorerBundle
from ml.strategies import STRATEGIES

DEFAULT_COVERAGE = 0.9


class BadInputError(ValueError):
    """Input that cannot be answered; ``field`` names the culprit (``symbol``, ``ts``, ``side``, ...)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SignalScore:
    """The quality score of one signal, with the feature row it was scored from."""

    symbol: str
    strategy: str
    ts: datetime
    side: int
    score: float
    confidence: float
    prediction: str
    threshold: float
    features: dict[str, float | None]
    explanation: dict[str, Any] | None = None


@dataclass(frozen=True)
class Forecast:
    """One volatility forecast (per-bar units) over ``horizon_bars``, with its interval and features."""

    symbol: str
    as_of: datetime
    horizon_bars: int
    coverage: float
    predicted: float
    lower: float
    upper: float
    features: dict[str, float | None]
    explanation: dict[str, Any] | None = None


def scorer_bundle(model: Any) -> ScorerBundle:
    """``model`` if it is the registered signal-quality shape, else a ``TypeError`` saying what it is."""
    if not isinstance(model, ScorerBundle):
        raise TypeError(f"the signal-quality model is a {type(model).__name__}, expected the ScorerBundle "
                        f"flows.signal_quality registers")
    return model


def history_bars(model: Any, configured: int = 0) -> int:
    """Bars to pass before a signal: ``configured``, or more when the bundle's feature windows need them."""
    return max(configured, scorer_bundle(model).feature_config.min_history_bars)


def feature_dicts(frame: pd.DataFrame, positions: Sequence[int]) -> list[dict[str, float | None]]:
    """Rows ``positions`` of a feature frame as JSON-safe dicts (NaN/inf -> None), vectorised."""
    names = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype="float64")[list(positions)]
    finite = np.isfinite(values)
    return [{n: (v if ok else None) for n, v, ok in zip(names, row.tolist(), mask.tolist())}
            for row, mask in zip(values, finite)]


def _column(rows: pd.DataFrame, name: str, default: Any = None) -> pd.Series:
    if name in rows.columns:
        return rows[name]
    if default is None:
        raise BadInputError(name, f"missing column {name!r}")
    return pd.Series(default, index=rows.index)


def _bars_of(bars: Mapping[str, pd.DataFrame], symbol: str) -> pd.DataFrame:
    frame = bars.get(symbol)
    if frame is None or len(frame) == 0:
        raise BadInputError("bars", f"no bars given for symbol {symbol!r}")
    missing = [c for c in BAR_COLUMNS if c not in frame.columns]
    if missing or not isinstance(frame.index, pd.DatetimeIndex):
        raise BadInputError("bars", f"bars of {symbol!r} need a DatetimeIndex and the columns {BAR_COLUMNS}")
    if not frame.index.is_monotonic_increasing or frame.index.has_duplicates:
        raise BadInputError("bars", f"bars of {symbol!r} must have increasing, unique timestamps")
    return frame


def _positions(frame: pd.DataFrame, values: pd.Series, field: str, symbol: str) -> np.ndarray:
    """Positions of the bar timestamps ``values`` in ``frame`` (None/NaT = the last bar)."""
    try:
        times = pd.DatetimeIndex(pd.to_datetime(list(values), utc=True))
    except (TypeError, ValueError) as exc:
        raise BadInputError(field, f"{field} is not a timestamp: {exc}") from None
    times = times.tz_convert(frame.index.tz) if frame.index.tz is not None else times.tz_localize(None)
    pos = frame.index.get_indexer(times)
    pos[times.isna()] = len(frame) - 1
    if (pos < 0).any():
        raise BadInputError(field, f"{field}={times[pos < 0][0]} is not a bar timestamp of {symbol!r}")
    return pos


def score(model: Any, bars: Mapping[str, pd.DataFrame], signals: pd.DataFrame, *, explain: bool = False,
          history: pd.DataFrame | None = None) -> list[SignalScore]:
    """Quality scores of a batch of signals, one feature pass per (symbol, strategy).

    Args:
        model: The registered :class:`~ml.signal_quality.bundle.ScorerBundle`.
        bars: Symbol -> bars (``ts`` index, OHLCV) up to at least its last signal; pass
            :func:`history_bars` bars before a signal for every feature window to be warm.
        signals: One row per signal: ``symbol``, ``strategy``, ``side`` (+1/-1), optional ``strength``
            (>= 0, default 1) and ``ts`` (a bar timestamp; missing/None = the symbol's last bar).
        explain: Add TreeSHAP contributions to each result.
        history: Resolved outcomes for the win-rate factor instead of the bundle's own outcomes of
            each symbol (``side``, ``exit_time``, ``label``, ``ret``, optional ``strategy``).

    Returns:
        One :class:`SignalScore` per row of ``signals``, in order.
    """
    bundle = scorer_bundle(model)
    rows = signals.reset_index(drop=True)
    symbols, strategies = _column(rows, "symbol").astype(str), _column(rows, "strategy").astype(str)
    sides = pd.to_numeric(_column(rows, "side"), errors="coerce").to_numpy(dtype="float64")
    if not np.isin(sides, (1.0, -1.0)).all():
        raise BadInputError("side", "side must be +1 (BUY) or -1 (SELL)")
    strength = pd.to_numeric(_column(rows, "strength", 1.0), errors="coerce").to_numpy(dtype="float64")
    if not (np.isfinite(strength) & (strength >= 0)).all():
        raise BadInputError("strength", "strength must be a finite number >= 0")
    stamps = _column(rows, "ts", pd.NaT)
    need = bundle.feature_config.trend_slow + 1
    parts, times = [], np.empty(len(rows), dtype=object)
    groups = pd.DataFrame({"s": symbols, "t": strategies}).groupby(["s", "t"], sort=False).indices
    for (symbol, strategy), idx in groups.items():
        if strategy not in STRATEGIES:
            raise BadInputError("strategy", f"unknown strategy {strategy!r}; the scorer knows {sorted(STRATEGIES)}")
        frame = _bars_of(bars, symbol)
        pos = _positions(frame, stamps.iloc[idx], "ts", symbol)
        if (pos + 1 < need).any():
            p = int(pos.min())
            raise BadInputError("ts", f"not enough history before {frame.index[p]} to score {symbol!r}: need at "
                                      f"least {need} bars, have {p + 1}")
        sig = pd.DataFrame({"side": sides[idx].astype(int), "strength": strength[idx]},
                           index=pd.DatetimeIndex(frame.index[pos], name="ts"))
        hist = bundle.history_for(symbol) if history is None else history
        X = bundle.features(frame.iloc[: pos.max() + 1], sig, strategy, history=hist)
        parts.append(X.set_axis(idx))
        times[idx] = [t.to_pydatetime() for t in frame.index[pos]]
    X = pd.concat(parts).sort_index()
    scored = bundle.predict_frame(X)
    expl = signal_explanations(bundle.scorer, X) if explain else [None] * len(X)
    threshold = bundle.threshold
    score_, conf = scored["score"].to_numpy(dtype="float64"), scored["confidence"].to_numpy(dtype="float64")
    pred = scored["prediction"].astype(str).tolist()
    return [SignalScore(symbols.iat[i], strategies.iat[i], times[i], int(sides[i]), float(score_[i]),
                        float(conf[i]), pred[i], threshold, f, expl[i])
            for i, f in enumerate(feature_dicts(X, range(len(X))))]


def symbol_models(model: Any) -> SymbolModels:
    """``model`` if it is the registered volatility shape, else a ``TypeError`` saying what it is."""
    if not isinstance(model, SymbolModels):
        raise TypeError(f"the volatility model is a {type(model).__name__}, expected the SymbolModels "
                        f"flows.volatility registers")
    return model


def predict(model: Any, bars: Mapping[str, pd.DataFrame], requests: pd.DataFrame, *,
            explain: bool = False) -> list[Forecast]:
    """Volatility forecasts for a batch of (symbol, origin), one feature pass per symbol.

    Args:
        model: The registered :class:`~ml.bundles.SymbolModels`.
        bars: Symbol -> bars (``ts`` index, OHLCV) up to at least its last origin.
        requests: One row per forecast: ``symbol``, optional ``as_of`` (a bar timestamp; missing/None
            = the symbol's last bar) and ``coverage`` of the interval (in (0, 1), default 0.9).
        explain: Add TreeSHAP contributions (XGBoost members) to each result.

    Returns:
        One :class:`Forecast` per row of ``requests``, in order.
    """
    models = symbol_models(model)
    rows = requests.reset_index(drop=True)
    symbols = _column(rows, "symbol").astype(str)
    coverage = pd.to_numeric(_column(rows, "coverage", DEFAULT_COVERAGE), errors="coerce").to_numpy(float)
    if not ((coverage > 0) & (coverage < 1)).all():
        raise BadInputError("coverage", "coverage must be strictly between 0 and 1")
    stamps = _column(rows, "as_of", pd.NaT)
    out: list[Forecast | None] = [None] * len(rows)
    for symbol, idx in symbols.groupby(symbols, sort=False).indices.items():
        frame = _bars_of(bars, symbol)
        pos = _positions(frame, stamps.iloc[idx], "as_of", symbol)
        window = frame.iloc[: pos.max() + 1]
        estimator = models.for_symbol(symbol)
        feats = compute_features(window)
        unique = sorted(set(pos.tolist()))
        expl = volatility_explanations(estimator, window, feats, unique) if explain else {}
        features = dict(zip(unique, feature_dicts(feats, unique)))
        for cov in sorted(set(coverage[idx].tolist())):
            frame_out = estimator.predict_frame(window, coverage=cov)
            fc, lo, hi = (frame_out[c].to_numpy(dtype="float64") for c in ("forecast", "lower", "upper"))
            for i, p in zip(idx, pos):
                if coverage[i] != cov:
                    continue
                if not np.isfinite(fc[p]):
                    raise BadInputError("as_of", f"not enough history before {window.index[p]} to forecast "
                                                 f"{symbol!r} ({p + 1} bars available)")
                out[i] = Forecast(symbol, window.index[p].to_pydatetime(), int(estimator.horizon), cov,
                                  float(fc[p]), float(lo[p]), float(hi[p]), features[p], expl.get(p))
    return out  # type: ignore[return-value]
