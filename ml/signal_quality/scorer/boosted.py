"""The XGBoost meta-labelling scorer (:class:`SignalQualityScorer`) and its SHAP and gain explanations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xgboost as xgb

from ml.signal_quality.scorer.base import _CalibratedScorerBase


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
