"""Forecast combination in logs (stacking) of the volatility models."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from ml.volatility.base import VOL_FLOOR, VolatilityModel
from ml.volatility.intervals import DEFAULT_INTERVAL
from ml.volatility.targets import realised_vol_target


def fit_log_combination(log_var_forecasts: pd.DataFrame, log_var_target: pd.Series) -> tuple[float, np.ndarray]:
    """Non-negative least squares of ``ln RV^2`` on member log-variance forecasts plus an intercept.

    Returns:
        ``(intercept, weights)``.
    """
    x = log_var_forecasts.to_numpy()
    y = log_var_target.to_numpy()
    x_mean, y_mean = x.mean(axis=0), y.mean()
    weights, _ = nnls(x - x_mean, y - y_mean)
    return float(y_mean - x_mean @ weights), weights


class EnsembleModel(VolatilityModel):
    """Stacked combination of member models' log-variance forecasts (Bates & Granger 1969 in logs).

    ``fit`` fits every member on the head of the training bars, forecasts the last
    ``cal_fraction`` of them (out of sample for the members), fits non-negative combination
    weights and an intercept on ``ln RV^2`` there (``combination="nnls"``) and rescales by the
    QLIKE-optimal factor ``mean(RV^2 / forecast^2)`` of that validation set, or takes the
    geometric mean of the members (``"equal"``); it keeps the validation log residuals in time
    order for the conformal intervals, which use :data:`ml.volatility.intervals.DEFAULT_INTERVAL`
    (adaptive conformal) like every single model, so the ensemble's interval adapts to a change of
    its residuals the same way; then it refits the members on all training bars. The test window is
    never used. Ensembles pickled before this (no time-ordered residuals) keep split conformal
    (:meth:`~ml.volatility.base.VolatilityModel.residual_quantiles`).

    Args:
        horizon: Forecast horizon in bars.
        members: Registry names of the member models (see ``ml.volatility.MODELS``).
        combination: ``"nnls"`` (fitted non-negative weights + intercept) or ``"equal"``
            (geometric mean of the members; only the scale is fitted), which is often more
            robust out of sample (the "forecast combination puzzle").
        cal_fraction: Share of the training bars used to fit the weights and intervals.
    """

    def __init__(
        self,
        horizon: int = 5,
        members: tuple[str, ...] = ("lhar_gk_ext", "lhar_rs_ext", "har_pk_log", "garch_t"),
        combination: str = "equal",
        cal_fraction: float = 0.3,
    ):
        self.horizon = horizon
        self.members = members
        self.combination = combination
        self.cal_fraction = cal_fraction

    def _fit_members(self, bars: pd.DataFrame) -> list[VolatilityModel]:
        from ml.volatility.registry import make_model

        return [make_model(name, horizon=self.horizon, cal_fraction=0.0).fit(bars) for name in self.members]

    def _member_log_var(self, models: list[VolatilityModel], bars: pd.DataFrame) -> pd.DataFrame:
        cols = {name: 2.0 * np.log(m.predict(bars)) for name, m in zip(self.members, models)}
        return pd.DataFrame(cols, index=bars.index)

    def fit(self, bars: pd.DataFrame, y: object = None) -> EnsembleModel:
        """Fit weights and intervals on a validation tail, then refit the members on all bars."""
        split = len(bars) - int(len(bars) * self.cal_fraction)
        head = self._fit_members(bars.iloc[:split])
        x = self._member_log_var(head, bars).iloc[split:]
        target = 2.0 * np.log(realised_vol_target(bars, self.horizon).clip(lower=VOL_FLOOR)).iloc[split:]
        data = pd.concat([x, target.rename("y")], axis=1).dropna()
        if self.combination == "equal":
            self.intercept_, self.weights_ = 0.0, np.full(len(self.members), 1.0 / len(self.members))
        else:
            self.intercept_, self.weights_ = fit_log_combination(data[list(self.members)], data["y"])
        resid = data["y"].to_numpy() - self.intercept_ - data[list(self.members)].to_numpy() @ self.weights_
        # members are already bias-corrected: an equal-weight mean keeps their scale
        self.scale_ = 1.0 if self.combination == "equal" else float(np.sqrt(np.mean(np.exp(resid))))
        # log-vol residuals in time order (``data`` keeps the bars' order), the interval state of the base class
        self.calibration_residuals_ = 0.5 * resid - np.log(self.scale_)
        self.conformal_residuals_ = np.sort(self.calibration_residuals_)
        self.interval_method_ = DEFAULT_INTERVAL
        self.interval_cache_: dict[float, tuple[float, float]] = {}
        self.members_ = self._fit_members(bars)
        self.n_train_ = len(bars)
        return self

    def _predict_core(self, bars: pd.DataFrame) -> pd.Series:
        x = self._member_log_var(self.members_, bars)
        log_var = self.intercept_ + x.to_numpy() @ self.weights_
        return pd.Series(np.sqrt(np.exp(log_var)), index=bars.index)
