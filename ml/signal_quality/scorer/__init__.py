"""Signal quality scorer: a meta-labelling classifier with out-of-time probability calibration.

The primary strategy proposes a side; the secondary model (López de Prado, AFML ch. 3) estimates
P(the triple-barrier label is 1) = the quality **score**. The booster is fitted on the earlier
``1 - calibration_fraction`` of the (time-ordered) training rows; the calibrator (Platt sigmoid or
isotonic, Niculescu-Mizil & Caruana 2005) is fitted on the later rows, never on the rows the booster
saw, and training rows whose label is still open when the calibration fold starts are purged.

``confidence`` is the probability that the take/HOLD decision is right about the *true* success
probability: with ``n`` calibration-fold samples in the score's quantile bin, the true probability
is modelled as Normal(score, score·(1 − score)/(n + 1)) (binomial standard error, variance floored
at 0.01/(n + 1)) and ``confidence = P(p_true on the same side of the threshold as the score)``
= Φ(|score − threshold| / se) ∈ [0.5, 1]. It is 0.5 for a score at the threshold, grows as the
score moves away from it, and grows faster when many calibration samples back that score region.

``prediction`` is the signal's side ("BUY"/"SELL") when ``score >= threshold_``, else "HOLD".

Modules: :mod:`ml.signal_quality.scorer.calibration` (:class:`ProbabilityCalibrator`, :func:`auto_threshold`),
:mod:`ml.signal_quality.scorer.base` (the shared fit/calibrate/score logic: time order, calibration split,
threshold, confidence, BUY/SELL/HOLD), :mod:`ml.signal_quality.scorer.boosted` (the XGBoost
:class:`SignalQualityScorer` and its SHAP explanations), :mod:`ml.signal_quality.scorer.baselines`
(:class:`LogisticSignalScorer`, :class:`TakeAllBaseline`).
"""

from ml.signal_quality.scorer.baselines import LogisticSignalScorer, TakeAllBaseline
from ml.signal_quality.scorer.boosted import SignalQualityScorer
from ml.signal_quality.scorer.calibration import ProbabilityCalibrator, auto_threshold

__all__ = [
    "LogisticSignalScorer",
    "ProbabilityCalibrator",
    "SignalQualityScorer",
    "TakeAllBaseline",
    "auto_threshold",
]
