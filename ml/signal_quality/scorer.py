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
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xgboost as xgb
from scipy.special import expit, logit, ndtr
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.impute import SimpleImputer
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

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


class SignalQualityScorer(_CalibratedScorerBase):
    """XGBoost meta-labelling classifier with held-out calibration (see module docstring).

    Args:
        n_estimators: Boosting rounds.
        max_depth: Tree depth.
        learning_rate: Shrinkage.
        subsample: Row subsampling per tree.
        colsample_bytree: Column subsampling per tree.
        min_child_weight: Minimum hessian per leaf (regularisation for small, noisy sets).
        reg_lambda: L2 regularisation.
        calibration: "sigmoid" (Platt; robust for a few hundred samples) or "isotonic".
        calibration_fraction: Latest fraction of the training rows held out for calibration.
        threshold: Score threshold, or "auto" = highest threshold keeping ``min_keep`` of the
            calibration fold.
        min_keep: Fraction of signals the "auto" threshold keeps on the calibration fold (0.4 leaves
            a margin for the score distribution drifting between calibration and later data).
        confidence_bins: Quantile bins of calibration scores used for ``confidence`` support.
        random_state: Seed.
        n_jobs: Threads for XGBoost.
    """

    def __init__(self, n_estimators: int = 150, max_depth: int = 2, learning_rate: float = 0.03,
                 subsample: float = 0.8, colsample_bytree: float = 0.5, min_child_weight: float = 10.0,
                 reg_lambda: float = 5.0, calibration: str = "sigmoid", calibration_fraction: float = 0.3,
                 threshold: float | str = "auto", min_keep: float = 0.4, confidence_bins: int = 10,
                 random_state: int = 0, n_jobs: int = 1):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.calibration = calibration
        self.calibration_fraction = calibration_fraction
        self.threshold = threshold
        self.min_keep = min_keep
        self.confidence_bins = confidence_bins
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _fit_raw(self, X, y, w) -> None:
        model = xgb.XGBClassifier(
            n_estimators=self.n_estimators, max_depth=self.max_depth, learning_rate=self.learning_rate,
            subsample=self.subsample, colsample_bytree=self.colsample_bytree,
            min_child_weight=self.min_child_weight, reg_lambda=self.reg_lambda, tree_method="hist",
            random_state=self.random_state, n_jobs=self.n_jobs, eval_metric="logloss")
        names = [str(c) for c in getattr(self, "feature_names_in_", range(X.shape[1]))]
        model.fit(pd.DataFrame(X, columns=names), y, sample_weight=w)
        self.booster_ = model.get_booster()

    def _raw_proba(self, X) -> np.ndarray:
        return self.booster_.inplace_predict(np.ascontiguousarray(X, dtype=np.float32), validate_features=False)

    def shap_values(self, X) -> pd.DataFrame:
        """Per-row SHAP values in log-odds of the raw booster (TreeSHAP, ``pred_contribs=True``).

        Returns:
            Frame with one column per feature plus ``bias``; rows sum to the raw margin.
        """
        arr = self._matrix(X)
        names = list(self.booster_.feature_names)
        contribs = self.booster_.predict(xgb.DMatrix(arr, feature_names=names), pred_contribs=True)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(contribs, columns=names + ["bias"], index=index)

    def feature_contributions(self, X, top_k: int = 5) -> pd.DataFrame:
        """Top-``k`` features by |SHAP value| for each row (long format).

        Returns:
            Frame with columns ``row`` (position), ``rank``, ``feature``, ``value`` (the feature's
            value) and ``contribution`` (log-odds), ``k`` rows per input row, indexed like ``X``.
        """
        shap = self.shap_values(X).drop(columns="bias")
        vals, arr = shap.to_numpy(), self._matrix(X)
        top = np.argsort(-np.abs(vals), axis=1)[:, :top_k]
        rows = np.repeat(np.arange(len(vals)), top.shape[1])
        cols = top.reshape(-1)
        out = pd.DataFrame({"row": rows, "rank": np.tile(np.arange(1, top.shape[1] + 1), len(vals)),
                            "feature": shap.columns.to_numpy()[cols], "value": arr[rows, cols],
                            "contribution": vals[rows, cols]})
        if isinstance(X, pd.DataFrame):
            out.index = X.index[rows]
        return out

    def gain_importance(self) -> pd.Series:
        """Total-gain feature importance of the booster, normalised to sum to 1, descending."""
        gain = pd.Series(self.booster_.get_score(importance_type="total_gain"), dtype=float)
        gain = gain.reindex([str(c) for c in self.booster_.feature_names]).fillna(0.0)
        return (gain / gain.sum() if gain.sum() > 0 else gain).sort_values(ascending=False)


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
