"""The baselines a scorer must beat: logistic regression and taking every signal."""

from __future__ import annotations

import numpy as np
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ml.signal_quality.scorer.base import _CalibratedScorerBase


class LogisticSignalScorer(_CalibratedScorerBase):
    """Baseline: median-imputed, standardised L2 logistic regression, same calibration and interface.

    Args:
        C: Inverse regularisation strength.
        calibration: See :class:`SignalQualityScorer`.
        calibration_fraction: See :class:`SignalQualityScorer`.
        threshold: See :class:`SignalQualityScorer`.
        min_keep: See :class:`SignalQualityScorer`.
        confidence_bins: See :class:`SignalQualityScorer`.
    """

    def __init__(self, C: float = 0.1, calibration: str = "sigmoid", calibration_fraction: float = 0.3,
                 threshold: float | str = "auto", min_keep: float = 0.4, confidence_bins: int = 10):
        self.C = C
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.threshold = threshold
        self.min_keep = min_keep
        self.confidence_bins = confidence_bins

    def _fit_raw(self, X, y, w) -> None:
        self.model_ = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                    StandardScaler(), LogisticRegression(C=self.C, max_iter=2000))
        self.model_.fit(X, y, logisticregression__sample_weight=w)

    def _raw_proba(self, X) -> np.ndarray:
        return self.model_.predict_proba(X)[:, 1]


class TakeAllBaseline(_CalibratedScorerBase):
    """Baseline: take every signal; the score is the calibration fold's (weighted) success rate.

    Args:
        calibration_fraction: See :class:`SignalQualityScorer`.
        confidence_bins: See :class:`SignalQualityScorer`.
    """

    calibration = "isotonic"
    threshold = 0.0
    min_keep = 1.0

    def __init__(self, calibration_fraction: float = 0.3, confidence_bins: int = 10):
        self.calibration_fraction = calibration_fraction
        self.confidence_bins = confidence_bins

    def _fit_raw(self, X, y, w) -> None:
        self.rate_ = float(np.average(y, weights=w)) if len(y) else 0.5

    def _raw_proba(self, X) -> np.ndarray:
        return np.full(len(X), self.rate_)
