"""The one inference API: batch signal scores (:func:`score`) and volatility forecasts (:func:`predict`).

Both take the registered model, the bars of every symbol in the batch and a frame with one row per
signal / forecast (symbols and strategies may be mixed). Features are computed once per symbol (and
strategy) over the bars up to the group's last origin, by the training code itself
(:meth:`ml.signal_quality.bundle.ScorerBundle.features`, :func:`ml.features.compute_features`);
each result carries the features it was computed from and, when asked, TreeSHAP contributions
(:mod:`ml.inference.explanations`). Results come back in row order. Bad input raises :class:`BadInputError`
naming the field. Pure: pandas/numpy/xgboost only.

Registered shapes: ``flows.signal_quality`` registers a :class:`~ml.signal_quality.bundle.ScorerBundle`,
``flows.volatility`` a :class:`~ml.bundles.SymbolModels`; anything else is a ``TypeError``.
"""

from ml.inference.inputs import BadInputError, feature_dicts
from ml.inference.signals import PLAN_COLUMNS, SignalScore, history_bars, score, scorer_bundle
from ml.inference.volatility import DEFAULT_COVERAGE, Forecast, predict, symbol_models

__all__ = ["DEFAULT_COVERAGE", "PLAN_COLUMNS", "BadInputError", "Forecast", "SignalScore", "feature_dicts", "history_bars", "predict",
           "score", "scorer_bundle", "symbol_models"]
