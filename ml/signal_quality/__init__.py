"""Signal quality scoring = meta-labelling (López de Prado, *Advances in Financial ML*, ch. 3).

``labels`` (triple-barrier outcomes), ``features`` (one feature builder for training and serving),
``scorer`` (calibrated XGBoost + baselines), ``validation`` (purged, embargoed walk-forward CV),
``plots`` (matplotlib figures).

Training::

    signals = make_strategy("rsi_mean_reversion").signals(bars)
    labels = triple_barrier_labels(bars, signals, cfg.barrier).assign(strategy="rsi_mean_reversion")
    X = build_signal_features(bars, signals, labels, "rsi_mean_reversion", cfg)
    ok = labels["label"].notna()
    scorer = SignalQualityScorer().fit(X[ok], labels["label"][ok],
                                       average_uniqueness(labels, bars.index)[ok], labels["exit_time"][ok])

Serving scores new signals with the registered :class:`~ml.signal_quality.bundle.ScorerBundle` through
:func:`ml.inference.score`, which builds their features with the same ``build_signal_features``.
"""

from ml.signal_quality.features import SignalFeatureConfig, build_signal_features, historical_win_rate
from ml.signal_quality.labels import BarrierConfig, average_uniqueness, triple_barrier_labels
from ml.signal_quality.scorer import LogisticSignalScorer, SignalQualityScorer, TakeAllBaseline

__all__ = [
    "BarrierConfig",
    "LogisticSignalScorer",
    "SignalFeatureConfig",
    "SignalQualityScorer",
    "TakeAllBaseline",
    "average_uniqueness",
    "build_signal_features",
    "historical_win_rate",
    "triple_barrier_labels",
]
