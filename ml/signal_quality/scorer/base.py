"""The fit/calibrate/score logic every scorer shares; subclasses implement ``_fit_raw`` and ``_raw_proba``."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr
from sklearn.base import BaseEstimator, ClassifierMixin

from ml.signal_quality.scorer.calibration import ProbabilityCalibrator, auto_threshold


def _time_order(X: pd.DataFrame | np.ndarray) -> np.ndarray:
    if isinstance(X, pd.DataFrame) and isinstance(X.index, pd.DatetimeIndex):
        return np.argsort(X.index.asi8, kind="stable")
    return np.arange(len(X))


class _CalibratedScorerBase(ClassifierMixin, BaseEstimator):
    """Shared fit/calibrate/score logic; subclasses implement ``_fit_raw`` and ``_raw_proba``."""

    def _fit_raw(self, X: np.ndarray, y: np.ndarray, w: np.ndarray | None) -> None:
        raise NotImplementedError

    def _raw_proba(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _matrix(self, X) -> np.ndarray:
        if isinstance(X, pd.DataFrame):
            X = X[self.feature_names_in_] if hasattr(self, "feature_names_in_") else X
        arr = np.asarray(X, dtype=np.float64)
        return arr[None, :] if arr.ndim == 1 else arr

    def fit(self, X, y, sample_weight=None, label_end=None):
        """Fit the classifier on the earlier rows and the calibrator on the later rows.

        Args:
            X: Feature frame (a ``DatetimeIndex`` is used to order rows in time) or array in time
                order. Rows with NaN ``y`` are ignored.
            y: Binary meta-labels.
            sample_weight: Optional weights (e.g. average uniqueness).
            label_end: Optional end time of each label (``exit_time``); training rows whose label
                ends at or after the first calibration row's time are purged.

        Returns:
            self
        """
        order = _time_order(X)
        y_all = np.asarray(y, float)[order]
        keep = order[np.isfinite(y_all)]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        Xa, ya = self._matrix(X)[keep], np.asarray(y, float)[keep].astype(int)
        w = None if sample_weight is None else np.asarray(sample_weight, float)[keep]
        self.n_features_in_, self.classes_ = Xa.shape[1], np.array([0, 1])
        fit_idx, cal_idx = self._split(X, keep, label_end)
        self._fit_raw(Xa[fit_idx], ya[fit_idx], None if w is None else w[fit_idx])
        raw_cal = self._raw_proba(Xa[cal_idx])
        w_cal = None if w is None else w[cal_idx]
        self.calibrator_ = ProbabilityCalibrator(self.calibration).fit(raw_cal, ya[cal_idx], w_cal)
        self._fit_decision(self.calibrator_.transform(raw_cal))
        return self

    def _split(self, X, keep: np.ndarray, label_end) -> tuple[np.ndarray, np.ndarray]:
        n = len(keep)
        n_cal = max(round(n * self.calibration_fraction), 1)
        fit_idx, cal_idx = np.arange(n - n_cal), np.arange(n - n_cal, n)
        if label_end is not None and isinstance(X, pd.DataFrame) and isinstance(X.index, pd.DatetimeIndex):
            ends = pd.DatetimeIndex(np.asarray(label_end)[keep]).as_unit("ns").asi8
            cal_start = X.index[keep[cal_idx[0]]].as_unit("ns").value
            fit_idx = fit_idx[ends[fit_idx] < cal_start]
        return fit_idx, cal_idx

    def _fit_decision(self, cal_scores: np.ndarray) -> None:
        thr = self.threshold
        self.threshold_ = auto_threshold(cal_scores, self.min_keep) if thr == "auto" else float(thr)
        edges = np.quantile(cal_scores, np.linspace(0, 1, self.confidence_bins + 1))[1:-1]
        self.conf_edges_ = np.unique(edges)
        self.conf_support_ = np.bincount(np.searchsorted(self.conf_edges_, cal_scores, side="right"),
                                         minlength=len(self.conf_edges_) + 1).astype(float)
        self.cal_scores_summary_ = {"n": int(cal_scores.size), "mean": float(cal_scores.mean()),
                                    "kept_frac": float((cal_scores >= self.threshold_).mean())}

    def score_array(self, X) -> np.ndarray:
        """Calibrated quality scores in [0, 1] for a 2-D array (columns in ``feature_names_in_`` order)."""
        return self.calibrator_.transform(self._raw_proba(self._matrix(X)))

    def predict_proba(self, X) -> np.ndarray:
        """Array of shape (n, 2): P(failure), P(success) = calibrated score."""
        s = self.score_array(X)
        return np.column_stack([1 - s, s])

    def predict(self, X) -> np.ndarray:
        """1 where the signal would be taken (score >= ``threshold_``), else 0."""
        return (self.score_array(X) >= self.threshold_).astype(int)

    def confidence(self, scores: np.ndarray) -> np.ndarray:
        """P(true success probability is on the same side of ``threshold_`` as the score), in [0.5, 1]."""
        s = np.clip(np.asarray(scores, float), 0.0, 1.0)
        n = self.conf_support_[np.searchsorted(self.conf_edges_, s, side="right")]
        se = np.sqrt(np.maximum(s * (1 - s), 0.01) / (n + 1))
        return ndtr(np.abs(s - self.threshold_) / se)

    def score_signals(self, X, sides=None) -> pd.DataFrame:
        """Score, confidence and BUY/SELL/HOLD prediction for each signal.

        Args:
            X: Feature rows (frame or 2-D array).
            sides: +1/-1 per row; defaults to the ``side`` feature column.

        Returns:
            Frame indexed like ``X`` with ``score``, ``confidence``, ``prediction``.
        """
        scores = self.score_array(X)
        if sides is None:
            sides = X["side"].to_numpy() if isinstance(X, pd.DataFrame) else self._side_column(X)
        sides = np.asarray(sides)
        pred = np.where(scores < self.threshold_, "HOLD", np.where(sides > 0, "BUY", "SELL"))
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame({"score": scores, "confidence": self.confidence(scores), "prediction": pred},
                            index=index)

    def score_one(self, x, side: int | None = None) -> dict:
        """Score one signal (features precomputed): ``{"score", "confidence", "prediction"}``.

        Named ``score_one`` so that sklearn's ``score(X, y)`` (accuracy) keeps its meaning.

        Args:
            x: One feature row (1-D array in ``feature_names_in_`` order, Series or 1-row frame).
            side: +1/-1; defaults to the ``side`` feature.
        """
        arr = self._matrix(x)
        s = float(self.score_array(arr)[0])
        side = int(side if side is not None else self._side_column(arr)[0])
        pred = "HOLD" if s < self.threshold_ else ("BUY" if side > 0 else "SELL")
        return {"score": s, "confidence": float(self.confidence(np.array([s]))[0]), "prediction": pred}

    def _side_column(self, arr) -> np.ndarray:
        names = list(getattr(self, "feature_names_in_", []))
        if "side" not in names:
            raise ValueError("pass sides= (no 'side' feature to read it from)")
        return np.asarray(arr)[..., names.index("side")].reshape(-1)
