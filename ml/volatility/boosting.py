"""Gradient-boosted volatility forecaster (XGBoost) on the shared feature frame."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features import FeatureConfig, compute_features
from ml.volatility.base import VOL_FLOOR, VolatilityModel
from ml.volatility.econometric import HarModel
from ml.volatility.targets import realised_vol_target


class XgbModel(VolatilityModel):
    """XGBoost on :func:`ml.features.compute_features`, optionally on top of log-HAR.

    Objectives: ``"log"`` regresses ``ln RV^2`` with squared error (``exp`` of it is a median, so
    the forecast is rescaled by the QLIKE-optimal factor estimated on the out-of-sample
    calibration residuals); ``"gamma"`` fits ``RV^2`` with the gamma deviance and log link,
    which, like QLIKE, penalises relative errors and targets the conditional mean.
    With ``residual_on_har=True`` the trees start from the log-HAR forecast (``base_margin``)
    and learn its residual.

    Args:
        horizon: Forecast horizon in bars.
        objective: ``"log"`` or ``"gamma"``.
        residual_on_har: Boost the residual of a log-HAR (``har_proxy``) forecast.
        har_proxy: Variance proxy of the base HAR.
        har_leverage: Use the leverage HAR as the base.
        har_lags: Windows of the base HAR (fitted by QLIKE, see ``HarModel``).
        n_estimators: Boosting rounds.
        max_depth: Tree depth.
        learning_rate: Shrinkage.
        subsample: Row subsampling.
        colsample_bytree: Column subsampling.
        min_child_weight: Minimum hessian in a leaf.
        n_jobs: XGBoost threads.
        random_state: Seed.
        cal_fraction: Share of the training bars used for conformal calibration.
    """

    oos_bias_correction = True

    def __init__(
        self,
        horizon: int = 5,
        objective: str = "log",
        residual_on_har: bool = True,
        har_proxy: str = "gk",
        har_leverage: bool = True,
        har_lags: tuple[int, ...] = (1, 2, 5, 10, 22, 66),
        n_estimators: int = 200,
        max_depth: int = 2,
        learning_rate: float = 0.03,
        subsample: float = 0.8,
        colsample_bytree: float = 0.8,
        min_child_weight: float = 20.0,
        n_jobs: int = 1,
        random_state: int = 0,
        cal_fraction: float = 0.25,
    ):
        self.horizon = horizon
        self.objective = objective
        self.residual_on_har = residual_on_har
        self.har_proxy = har_proxy
        self.har_leverage = har_leverage
        self.har_lags = har_lags
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.learning_rate = learning_rate
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.min_child_weight = min_child_weight
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.cal_fraction = cal_fraction

    def _features(self, bars: pd.DataFrame) -> pd.DataFrame:
        return compute_features(bars, FeatureConfig())

    def _margin(self, bars: pd.DataFrame) -> pd.Series:
        if not self.residual_on_har:
            return pd.Series(self.base_log_var_, index=bars.index)
        return self.har_.predict_log_variance(bars) + np.log(self.har_.smearing_)

    def _xy(self, bars: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.Series]:
        x = self._features(bars)
        var = realised_vol_target(bars, self.horizon).clip(lower=VOL_FLOOR) ** 2
        margin = self._margin(bars)
        ok = var.notna() & margin.notna()
        y = np.log(var[ok]) if self.objective == "log" else var[ok]
        return x[ok], y, margin[ok]

    def _fit_head(self, bars: pd.DataFrame, split: int) -> None:
        """Fit on the head with early stopping on the calibration tail (sets ``n_rounds_``)."""
        self._fit_core(bars.iloc[:split], early_stopping_on=bars)
        self.n_rounds_ = int(self.booster_.best_iteration) + 1

    def _fit_core(self, bars: pd.DataFrame, early_stopping_on: pd.DataFrame | None = None) -> None:
        import xgboost as xgb

        var = realised_vol_target(bars, self.horizon).clip(lower=VOL_FLOOR) ** 2
        self.base_log_var_ = float(np.log(var.mean()))
        if self.residual_on_har:
            self.har_ = HarModel(
                self.horizon,
                proxy=self.har_proxy,
                log=True,
                lags=self.har_lags,
                leverage=self.har_leverage,
                loss="qlike",
                cal_fraction=0.0,
            ).fit(bars)
        x, y, margin = self._xy(bars)
        fit_kw: dict = {}
        if early_stopping_on is not None:
            xv, yv, mv = self._xy(early_stopping_on)
            keep = xv.index > bars.index[-1]
            fit_kw = {"eval_set": [(xv[keep], yv[keep])], "base_margin_eval_set": [mv[keep].to_numpy()]}
        self.booster_ = xgb.XGBRegressor(
            objective="reg:squarederror" if self.objective == "log" else "reg:gamma",
            n_estimators=self.n_estimators if early_stopping_on is not None else getattr(self, "n_rounds_", self.n_estimators),
            early_stopping_rounds=30 if early_stopping_on is not None else None,
            max_depth=self.max_depth,
            learning_rate=self.learning_rate,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            min_child_weight=self.min_child_weight,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
            tree_method="hist",
            base_score=0.0 if self.objective == "log" else 1.0,
        ).fit(x, y, base_margin=margin.to_numpy(), verbose=False, **fit_kw)
        self.feature_names_in_ = np.asarray(x.columns)

    @property
    def feature_importances_(self) -> pd.Series:
        """Gain-based feature importances of the fitted booster."""
        return pd.Series(self.booster_.feature_importances_, index=self.feature_names_in_)

    def _predict_core(self, bars: pd.DataFrame) -> pd.Series:
        x = self._features(bars)
        margin = self._margin(bars)
        ok = margin.notna().to_numpy()
        out = pd.Series(np.nan, index=bars.index)
        raw = self.booster_.predict(x[ok], output_margin=True, base_margin=margin[ok].to_numpy())
        out[ok] = np.sqrt(np.exp(raw))
        return out
