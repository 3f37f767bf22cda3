"""Features of a trading signal at its bar: the shared market features plus quality factors.

One function, :func:`build_signal_features`, serves training and serving alike (no second
implementation): training passes all signals with the full label table as ``history``; serving
passes the newest signal, the recent bars and the outcomes resolved so far.

Quality factors (spec "Signal Quality Factors"), all known at the signal bar's close:

* historical win rate of similar signals (same strategy and side) computed only from signals whose
  outcome was resolved (``exit_time``) strictly before the signal's time, over the last
  ``history_lookback`` such outcomes, shrunk (beta prior with ``prior_strength`` pseudo-trades)
  towards the strategy's own resolved rate, itself shrunk towards 0.5;
* market-condition alignment: side × trend of the 50/200 moving averages, side × momentum;
* risk/reward: barrier ratio and the room left to the recent extreme in barrier units;
* signal strength; volatility context (rolling percentile of volatility, short/long ratio);
* volume profile (z-score, relative volume, side-adjusted up/down volume balance).

Modules: :mod:`ml.signal_quality.features.config` (:class:`SignalFeatureConfig`, the ``f_`` prefix),
:mod:`ml.signal_quality.features.history` (the leak-free historical win rate),
:mod:`ml.signal_quality.features.context` (the side-free context of every bar: :func:`market_context`,
:func:`shared_features`, :func:`bar_context`), :mod:`ml.signal_quality.features.cross_asset` (the other
series' context: reference correlation, market breadth, the reference's regime),
:mod:`ml.signal_quality.features.factors` (side-adjusted quality factors, strategy-supplied ``caller_*`` columns, strategy indicators),
:mod:`ml.signal_quality.features.build` (:func:`build_signal_features`, the feature matrix of signals).
"""

from ml.signal_quality.features.build import build_signal_features
from ml.signal_quality.features.config import SHARED_PREFIX, SignalFeatureConfig
from ml.signal_quality.features.context import bar_context, market_context, shared_features
from ml.signal_quality.features.cross_asset import CROSS_ASSET_COLUMNS, cross_asset_context, reference_symbol
from ml.signal_quality.features.factors import (
    CALLER_PREFIX,
    caller_columns,
    quality_factors,
    strategy_indicators,
)
from ml.signal_quality.features.history import historical_win_rate

__all__ = [
    "CALLER_PREFIX",
    "CROSS_ASSET_COLUMNS",
    "SHARED_PREFIX",
    "SignalFeatureConfig",
    "bar_context",
    "build_signal_features",
    "caller_columns",
    "cross_asset_context",
    "historical_win_rate",
    "market_context",
    "quality_factors",
    "reference_symbol",
    "shared_features",
    "strategy_indicators",
]
