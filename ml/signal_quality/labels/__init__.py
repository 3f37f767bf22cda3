"""Triple-barrier outcomes of trading signals (López de Prado, *Advances in Financial ML*, ch. 3).

A primary strategy proposes a side at the close of a bar; the trade would enter at the next bar's
open. Three barriers decide whether acting on it would have paid:

* take-profit at ``entry * (1 + side * pt_mult * vol)``,
* stop-loss at ``entry * (1 - side * sl_mult * vol)``,
* a vertical barrier: exit at the close of the ``max_holding``-th bar held (the entry bar counts).

``vol`` is the EWM standard deviation of close-to-close returns known at the signal bar's close.
Touches are detected with each bar's high/low. When one bar touches both barriers we cannot know
the intrabar order, so the conservative rule is **stop-loss first**. A stop hit through a gap fills
at the (worse) open; a take-profit fills at its limit price. The label is 1 when take-profit is hit
first or the trade ends positive at the vertical barrier, else 0. A signal whose outcome is not
resolved by the end of the data keeps a NaN label (it is returned, never dropped).

Average-uniqueness sample weights (AFML ch. 4) down-weight labels that overlap in time.

Modules: :mod:`ml.signal_quality.labels.config` (``LABEL_COLUMNS``, :class:`BarrierConfig`, :func:`ewm_volatility`),
:mod:`ml.signal_quality.labels.barriers` (one trade's first touch and outcome, each signal's own barriers),
:mod:`ml.signal_quality.labels.frame` (:func:`triple_barrier_labels`), :mod:`ml.signal_quality.labels.uniqueness`
(:func:`average_uniqueness`).
"""

from ml.signal_quality.labels.config import LABEL_COLUMNS, BarrierConfig, ewm_volatility
from ml.signal_quality.labels.frame import triple_barrier_labels
from ml.signal_quality.labels.uniqueness import average_uniqueness

__all__ = ["LABEL_COLUMNS", "BarrierConfig", "average_uniqueness", "ewm_volatility", "triple_barrier_labels"]
