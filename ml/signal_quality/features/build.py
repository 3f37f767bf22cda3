"""The feature matrix of a set of signals (:func:`build_signal_features`), in training and serving alike."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from ml.signal_quality.features.config import SignalFeatureConfig
from ml.signal_quality.features.context import bar_context
from ml.signal_quality.features.factors import caller_columns, quality_factors, strategy_indicators
from ml.signal_quality.features.history import historical_win_rate


def build_signal_features(
    bars: pd.DataFrame,
    signals: pd.DataFrame,
    history: pd.DataFrame | None,
    strategy_name: str,
    config: SignalFeatureConfig = SignalFeatureConfig(),
    reference_close: pd.Series | None = None,
    context: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    closes: Mapping[str, pd.Series] | None = None,
    symbol: str | None = None,
) -> pd.DataFrame:
    """Feature matrix of ``signals`` for the quality scorer (same code in training and serving).

    Args:
        bars: Bars frame covering at least ``config.min_history_bars`` before each signal.
        signals: Frame indexed by signal ``ts`` (bar timestamps) with ``side`` and ``strength``, optionally
            ``pt_mult`` / ``sl_mult`` (a trade plan's take-profit / stop-loss distances in multiples of ``vol``)
            and strategy-supplied numbers (``caller_*`` columns, appended to the features as given).
        history: Labelled signals (``side``, ``exit_time``, ``label``, ``ret``, optional
            ``strategy``), e.g. :func:`ml.signal_quality.labels.triple_barrier_labels` output.
            Only outcomes resolved strictly before each signal are used, so passing the full
            label table in training leaks nothing.
        strategy_name: Name of the primary strategy that produced ``signals``.
        config: Feature parameters.
        reference_close: Optional reference asset closes for the shared correlation feature.
        context: :func:`bar_context` of ``bars`` or of a longer window starting at the same bar (computed
            here when None).
        closes: Symbol -> close series of the stored series (``symbol``'s own is ignored), for the cross-asset
            columns when ``config.cross_asset`` (NaN without them).
        symbol: The symbol of ``bars`` (never its own reference).

    Returns:
        Float frame indexed like ``signals``; columns are the quality factors, the strategy
        indicators, the historical win-rate block and the shared market features (``f_*``). NaN where a window is not warm.
    """
    pos = bars.index.get_indexer(signals.index)
    if (pos < 0).any():
        raise ValueError("every signal timestamp must be a bar timestamp")
    if context is None:
        context = bar_context(bars, config, reference_close, closes, symbol)
    market, shared_all = context
    ctx = market.iloc[pos]
    sides = signals["side"].to_numpy(dtype=int)
    strength = signals["strength"].to_numpy(float) if "strength" in signals else np.ones(len(signals))
    plan = {k: signals[k].to_numpy(float) if k in signals else None for k in ("pt_mult", "sl_mult")}
    factors = quality_factors(ctx, sides, strength, config, plan["pt_mult"], plan["sl_mult"])
    hist = historical_win_rate(pd.DatetimeIndex(signals.index), sides, history, strategy_name,
                               config.history_lookback, config.prior_strength)
    shared = shared_all.iloc[pos]
    parts = [factors, strategy_indicators(strategy_name, len(factors)).set_axis(factors.index),
             hist.set_axis(factors.index), shared.set_axis(factors.index)]
    out = pd.concat(parts, axis=1).astype("float64")
    out.index = signals.index
    for col in caller_columns(signals.columns):  # strategy-supplied numbers, as given (NaN: not given)
        out[col] = pd.to_numeric(signals[col], errors="coerce").to_numpy(dtype="float64")
    return out
