"""Leak-free validation of signal scorers: purged, embargoed walk-forward cross-validation.

Labels span an interval ``[t0, t1]`` (signal time to exit time), so a training label can overlap a
test fold even when its signal precedes it. Following López de Prado (AFML ch. 7), training samples
whose label interval overlaps the test fold's span ``[min t0, max t1]`` are **purged**, and
samples starting within an **embargo** (a fraction of the whole time span) after the test fold are
dropped. Walk-forward mode (default) trains only on the past (expanding window); the k-fold mode
also trains on later folds, which is where the embargo matters.

:class:`CombinatorialPurgedCV` (AFML ch. 12) cuts the samples into ``N`` groups and tests every choice of
``k`` of them, purging and embargoing around each test group; its splits recombine into ``C(N-1, k-1)``
backtest paths. Both splitters share ``split(t0, t1)``, so :func:`walk_forward_predict` takes either.

Modules: :mod:`ml.signal_quality.validation.purged` (:class:`PurgedWalkForwardCV`),
:mod:`ml.signal_quality.validation.combinatorial` (:class:`CombinatorialPurgedCV`),
:mod:`ml.signal_quality.validation.predict` (out-of-sample scores of every fold, pooling signal sets),
:mod:`ml.signal_quality.validation.evaluate` (the metrics of out-of-sample scores).
"""

from ml.signal_quality.validation.combinatorial import CombinatorialPurgedCV
from ml.signal_quality.validation.evaluate import evaluate_oos
from ml.signal_quality.validation.predict import pool_signal_sets, walk_forward_predict
from ml.signal_quality.validation.purged import PurgedWalkForwardCV

__all__ = [
    "CombinatorialPurgedCV",
    "PurgedWalkForwardCV",
    "evaluate_oos",
    "pool_signal_sets",
    "walk_forward_predict",
]
