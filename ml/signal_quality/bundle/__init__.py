"""The registered signal-quality model and the training-set assembly it shares with serving.

One scorer is trained on the signals of every (symbol, strategy) set pooled (the strategy is a
feature; see ``benchmarks/RESULTS.md``: pooling is what lifts the out-of-sample AUC above chance).
:class:`ScorerBundle` keeps everything needed to score a new signal exactly as in training:

* the fitted scorer (:class:`~ml.signal_quality.scorer.SignalQualityScorer` or a baseline),
* the :class:`~ml.signal_quality.features.SignalFeatureConfig` (with its barrier parameters),
* the feature column order the scorer was fitted on,
* the strategy parameter sets whose signals were pooled (so live signals can be generated the
  same way with :meth:`ScorerBundle.signals`),
* the resolved outcomes of the training signals (``history``), per symbol and strategy, for the
  leak-free "historical win rate of similar signals" factor.

New signals are scored with it by the inference API (the BentoML service calls it)::

    bundle = registry.load_alias(registry.SIGNAL_QUALITY_MODEL).model
    signals = pd.DataFrame({"symbol": ["GOOG"], "strategy": ["rsi_mean_reversion"], "side": [1],
                            "strength": [0.4]})
    ml.inference.score(bundle, {"GOOG": bars}, signals)  # [SignalScore(score, confidence, ..., features)]

``bars`` are the stored bars up to (at least) the signal bar, ``ml.inference.history_bars(bundle)``
of them before it. The win-rate factor uses the bundle's training outcomes of that symbol unless
newer resolved outcomes are passed.

Pure: pandas/numpy/sklearn only (no MLflow, Prefect or BentoML).

Modules: :mod:`ml.signal_quality.bundle.scorers` (:data:`SCORERS`, :func:`make_scorer` by name),
:mod:`ml.signal_quality.bundle.pooling` (:data:`DEFAULT_PARAM_GRIDS`, the signals pooled over parameter sets),
:mod:`ml.signal_quality.bundle.sets` (:class:`SignalSet`: the labelled, weighted training signals of one
(symbol, strategy), their resolved history), :mod:`ml.signal_quality.bundle.model` (:class:`ScorerBundle`, the
registered model, and its per-symbol :class:`SymbolView`).
"""

from ml.signal_quality.bundle.model import ScorerBundle, SymbolView
from ml.signal_quality.bundle.pooling import DEFAULT_PARAM_GRIDS, ParamGrids, pooled_signals
from ml.signal_quality.bundle.scorers import SCORERS, make_scorer
from ml.signal_quality.bundle.sets import (
    HISTORY_COLUMNS,
    SignalSet,
    prepare_signal_set,
    resolved_history,
    training_closes,
)

__all__ = [
    "DEFAULT_PARAM_GRIDS",
    "HISTORY_COLUMNS",
    "SCORERS",
    "ParamGrids",
    "ScorerBundle",
    "SignalSet",
    "SymbolView",
    "make_scorer",
    "pooled_signals",
    "prepare_signal_set",
    "resolved_history",
    "training_closes",
]
