"""Causal, vectorised features over a bars frame (shared by training and serving).

Every feature at bar ``t`` uses bars ``<= t`` only. Exponentially smoothed features (ATR, RSI,
MACD) depend on the whole past with geometrically decaying weights, so on a short recent window
they match the full-history values once the window is longer than :func:`min_history` bars
(the residual difference is below ``1e-8`` relative).

Volatility columns are in per-bar units (e.g. daily for daily bars), as fractions (0.01 = 1%).

Modules: :mod:`ml.features.proxies` (per-bar variance proxies), :mod:`ml.features.config`
(:class:`FeatureConfig`, the column names, the history a window needs), :mod:`ml.features.indicators`
(ATR, RSI, MACD, Bollinger %B), :mod:`ml.features.compute` (:func:`compute_features`, the feature frame).
"""

from ml.features.compute import compute_features
from ml.features.config import FEATURE_COLUMNS, FeatureConfig, feature_columns, min_history
from ml.features.indicators import atr, bollinger_pctb, macd, rsi
from ml.features.proxies import VOL_ESTIMATORS, variance_proxy

__all__ = [
    "FEATURE_COLUMNS",
    "VOL_ESTIMATORS",
    "FeatureConfig",
    "atr",
    "bollinger_pctb",
    "compute_features",
    "feature_columns",
    "macd",
    "min_history",
    "rsi",
    "variance_proxy",
]
