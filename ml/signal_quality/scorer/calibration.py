"""Raw probabilities to calibrated ones (:class:`ProbabilityCalibrator`) and the automatic threshold."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

_EPS = 1e-6


class ProbabilityCalibrator:
    """Map raw probabilities to calibrated ones with numpy only (fast at serving time).

    Args:
        method: "sigmoid" (Platt scaling on the raw logit) or "isotonic".
    """

    def __init__(self, method: str = "sigmoid"):
        self.method = method

    def fit(self, raw: np.ndarray, y: np.ndarray, sample_weight: np.ndarray | None = None):
        """Fit on held-out raw probabilities and outcomes; returns self."""
        raw = np.clip(np.asarray(raw, float), _EPS, 1 - _EPS)
        if self.method == "isotonic":
            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y, sample_weight)
            self.x_, self.y_ = iso.X_thresholds_, iso.y_thresholds_
        elif self.method == "sigmoid":
            lr = LogisticRegression(C=1e4).fit(logit(raw)[:, None], y, sample_weight=sample_weight)
            self.a_, self.b_ = float(lr.coef_[0, 0]), float(lr.intercept_[0])
        else:
            raise ValueError(f"unknown calibration method {self.method!r}")
        return self

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of ``raw``."""
        raw = np.clip(np.asarray(raw, float), _EPS, 1 - _EPS)
        if self.method == "isotonic":
            return np.interp(raw, self.x_, self.y_)
        return expit(self.a_ * logit(raw) + self.b_)


def auto_threshold(scores: np.ndarray, min_keep: float) -> float:
    """Highest threshold ``t`` such that ``mean(scores >= t) >= min_keep`` (chosen on validation scores)."""
    s = np.sort(np.asarray(scores, float))[::-1]
    if s.size == 0:
        return 0.5
    k = int(np.ceil(min_keep * s.size))
    return float(s[min(max(k, 1), s.size) - 1])
