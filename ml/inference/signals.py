"""Batch quality scores of trading signals with the registered :class:`~ml.signal_quality.bundle.ScorerBundle`."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from ml.inference.explanations import signal_explanations
from ml.inference.inputs import BadInputError, bars_of, column, feature_dicts, groups, positions
from ml.signal_quality.bundle import ScorerBundle
from ml.signal_quality.features import CALLER_PREFIX, bar_context, caller_columns
from ml.signal_quality.labels import ewm_volatility
from ml.strategies import STRATEGIES


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
    feature_set: str = "strategy"  # "strategy": a built-in's indicator is set; "generic": any other strategy
    barriers: dict[str, float] | None = None  # a trade plan's pt_mult / sl_mult (vol multiples); None: training's
    caller_used: tuple[str, ...] = ()  # the strategy-supplied features given that this scorer version uses


def scorer_bundle(model: Any) -> ScorerBundle:
    """``model`` if it is the registered signal-quality shape, else a ``TypeError`` saying what it is."""
    if not isinstance(model, ScorerBundle):
        raise TypeError(f"the signal-quality model is a {type(model).__name__}, expected the ScorerBundle "
                        f"flows.signal_quality registers")
    return model


def history_bars(model: Any, configured: int = 0) -> int:
    """Bars to pass before a signal: ``configured``, or more when the bundle's feature windows need them."""
    return max(configured, scorer_bundle(model).feature_config.min_history_bars)


def score(model: Any, bars: Mapping[str, pd.DataFrame], signals: pd.DataFrame, *, explain: bool = False,
          history: pd.DataFrame | None = None, live_history: pd.DataFrame | None = None,
          window_keys: Mapping[str, Hashable] | None = None,
          memo: Callable[[Hashable, Callable[[], Any]], Any] | None = None,
          closes: Mapping[str, pd.Series] | None = None) -> list[SignalScore]:
    """Quality scores of a batch of signals, one feature pass per (symbol, strategy).

    Args:
        model: The registered :class:`~ml.signal_quality.bundle.ScorerBundle`.
        bars: Symbol -> bars (``ts`` index, OHLCV) up to at least its last signal; pass
            :func:`history_bars` bars before a signal for every feature window to be warm.
        signals: One row per signal: ``symbol``, ``strategy`` (any name), ``side`` (+1/-1), optional
            ``strength`` (>= 0, default 1), ``ts`` (a bar timestamp; missing/None = the symbol's last bar) and an
            optional trade plan: ``stop_loss`` / ``take_profit`` prices, or ``stop_multiple`` /
            ``take_multiple`` in multiples of the signal bar's volatility (NaN: the training barriers), and
            strategy-supplied numbers in ``caller_*`` columns (finite or NaN = not given): stored with the
            features, used where the scorer was trained on them.
        explain: Add TreeSHAP contributions to each result.
        history: Resolved outcomes for the win-rate factor instead of the bundle's own outcomes of
            each symbol (``side``, ``exit_time``, ``label``, ``ret``, optional ``strategy``).
        live_history: Outcomes resolved since training (same columns; scored signals reported by the platform
            or resolved by the backfill) added to the bundle's: the win rate of similar signals is then
            computed at request time. Only outcomes that exited before a signal count for it.
        window_keys: Symbol -> a key naming its bars (and the ``closes`` passed) exactly; with ``memo``
            (``memo(key, compute) -> value``, get or compute and keep) the bar-derived part of the features
            (:func:`~ml.signal_quality.features.bar_context`) is computed once per window for the signals of
            every strategy and side on it.
        closes: Symbol -> close series of the other stored series (those of
            :meth:`~ml.signal_quality.bundle.ScorerBundle.context_symbols`), for a scorer trained with the
            cross-asset context; a series missing here gives NaN columns. Ignored by other scorers.

    Returns:
        One :class:`SignalScore` per row of ``signals``, in order.
    """
    bundle = scorer_bundle(model)
    rows = signals.reset_index(drop=True)
    if rows.empty:
        return []
    symbols, strategies = column(rows, "symbol").astype(str), column(rows, "strategy").astype(str)
    sides = pd.to_numeric(column(rows, "side"), errors="coerce").to_numpy(dtype="float64")
    if not np.isin(sides, (1.0, -1.0)).all():
        raise BadInputError("side", "side must be +1 (BUY) or -1 (SELL)")
    strength = pd.to_numeric(column(rows, "strength", 1.0), errors="coerce").to_numpy(dtype="float64")
    if not (np.isfinite(strength) & (strength >= 0)).all():
        raise BadInputError("strength", "strength must be a finite number >= 0")
    callers = caller_columns(rows.columns)
    for col in callers:
        values = pd.to_numeric(rows[col], errors="coerce").to_numpy(dtype="float64")
        if np.isinf(values).any():
            raise BadInputError(col.removeprefix(CALLER_PREFIX), f"{col} must be a finite number")
    stamps = column(rows, "ts", pd.NaT)
    parts, times = [], np.empty(len(rows), dtype=object)
    pt, sl = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    for (symbol, strategy), idx in groups(symbols, strategies).items():
        sig = pd.DataFrame({"side": sides[idx].astype(int), "strength": strength[idx],
                            **{k: pd.to_numeric(column(rows, k, np.nan).iloc[idx], errors="coerce").to_numpy(float)
                               for k in (*PLAN_COLUMNS, *callers)}})
        context = None
        if memo is not None and window_keys is not None and symbol in window_keys:
            frame = bars_of(bars, symbol)
            context = memo(("signal-context", window_keys[symbol], repr(bundle.feature_config)),
                           lambda frame=frame, symbol=symbol: bar_context(frame, bundle.feature_config,
                                                                          closes=closes, symbol=symbol))
        X, pt[idx], sl[idx] = _features(bundle, bars, symbol, strategy, stamps.iloc[idx], sig, history, live_history,
                                        context, closes)
        times[idx] = list(X.index.to_pydatetime())
        parts.append(X.set_axis(idx))
    full = parts[0] if len(parts) == 1 else pd.concat(parts).sort_index()
    X = full[bundle.feature_columns]  # the scorer's columns, in order; ``full`` adds unused caller columns
    scored = bundle.scorer.score_signals(X, sides)
    expl = signal_explanations(bundle.scorer, X) if explain else [None] * len(X)
    used = [c for c in callers if c in bundle.feature_columns]
    threshold = bundle.threshold
    score_, conf = scored["score"].to_numpy(dtype="float64"), scored["confidence"].to_numpy(dtype="float64")
    pred = scored["prediction"].astype(str).tolist()
    return [SignalScore(symbols.iat[i], strategies.iat[i], times[i], int(sides[i]), float(score_[i]),
                        float(conf[i]), pred[i], threshold, f, expl[i],
                        "strategy" if strategies.iat[i] in STRATEGIES else "generic", _barriers(pt[i], sl[i], bundle),
                        tuple(c for c in used if f.get(c) is not None))
            for i, f in enumerate(feature_dicts(full, range(len(full))))]


PLAN_COLUMNS = ("stop_loss", "take_profit", "stop_multiple", "take_multiple")


def _plan_multiples(signals: pd.DataFrame, frame: pd.DataFrame, pos: np.ndarray, barrier: Any) -> pd.DataFrame:
    """``pt_mult`` / ``sl_mult`` of each signal's trade plan in multiples of the signal bar's volatility (the unit
    of the training barriers); prices must sit on the right side of the signal bar's close."""
    close = frame["close"].to_numpy(float)[pos]
    vol = np.maximum(ewm_volatility(frame["close"], barrier.vol_span).to_numpy(float)[pos], barrier.min_vol)
    side = signals["side"].to_numpy(float)
    out = signals.copy()
    for price_col, mult_col, target, sign in (("take_profit", "take_multiple", "pt_mult", 1.0),
                                              ("stop_loss", "stop_multiple", "sl_mult", -1.0)):
        price = signals[price_col].to_numpy(float) if price_col in signals else np.full(len(signals), np.nan)
        given = np.isfinite(price)
        wrong = given & (sign * side * (price - close) <= 0)
        if wrong.any():
            i = int(np.flatnonzero(wrong)[0])
            where = "above" if sign * side[i] > 0 else "below"
            raise BadInputError(f"plan.{price_col}", f"{price_col} {price[i]:g} must be {where} the signal bar's "
                                                      f"close {close[i]:g} for a {'BUY' if side[i] > 0 else 'SELL'}")
        mult = signals[mult_col].to_numpy(float) if mult_col in signals else np.full(len(signals), np.nan)
        out[target] = np.where(given, np.abs(price / close - 1.0) / vol, mult)
    return out.drop(columns=[c for c in PLAN_COLUMNS if c in out])


def _barriers(pt: float, sl: float, bundle: ScorerBundle) -> dict[str, float] | None:
    """The plan's barrier multiples (the training one for a leg it left open), or None without a plan."""
    if not (np.isfinite(pt) or np.isfinite(sl)):
        return None
    barrier = bundle.feature_config.barrier
    return {"pt_mult": float(pt) if np.isfinite(pt) else barrier.pt_mult,
            "sl_mult": float(sl) if np.isfinite(sl) else barrier.sl_mult}


def _features(bundle: ScorerBundle, bars: Mapping[str, pd.DataFrame], symbol: str, strategy: str,
              stamps: pd.Series, signals: pd.DataFrame, history: pd.DataFrame | None,
              live_history: pd.DataFrame | None = None,
              context: tuple[pd.DataFrame, pd.DataFrame] | None = None,
              closes: Mapping[str, pd.Series] | None = None) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Feature rows of one (symbol, strategy) group (indexed by signal bar, in the bundle's column order) and the
    trade plans' ``pt_mult`` / ``sl_mult`` (NaN where a signal left a leg to the training barriers)."""
    frame = bars_of(bars, symbol)
    pos = positions(frame, stamps, "ts", symbol)
    need = bundle.feature_config.trend_slow + 1
    if (pos + 1 < need).any():
        p = int(pos.min())
        raise BadInputError("ts", f"not enough history before {frame.index[p]} to score {symbol!r}: need at "
                                  f"least {need} bars, have {p + 1}")
    signals = _plan_multiples(signals, frame, pos, bundle.feature_config.barrier)
    signals = signals.set_axis(pd.DatetimeIndex(frame.index[pos], name="ts"))
    hist = bundle.history_for(symbol) if history is None else history
    if live_history is not None and len(live_history):
        hist = pd.concat([hist, live_history], ignore_index=True)
    X = bundle.features(frame.iloc[: pos.max() + 1], signals, strategy, symbol, history=hist, keep_caller=True,
                        context=context, closes=closes)
    return X, signals["pt_mult"].to_numpy(float), signals["sl_mult"].to_numpy(float)
