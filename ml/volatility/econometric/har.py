"""HAR-RV (Corsi 2009, :class:`HarModel`): next-``h`` realised variance on 1/5/22-bar mean variance."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.volatility.base import VOL_FLOOR, VolatilityModel
from ml.volatility.econometric.regressors import _VAR_FLOOR, fit_qlike_log_linear, har_design
from ml.volatility.targets import realised_vol_target


class HarModel(VolatilityModel):
    """HAR-RV (Corsi 2009): regress next-``h`` realised variance on 1/5/22-bar mean variance.

    The regressors use a per-bar variance proxy: squared returns (``"cc"``) or the range-based
    Parkinson (``"pk"``), Garman-Klass (``"gk"``) or Rogers-Satchell (``"rs"``) estimators
    (suffix ``"+on"`` adds the squared overnight return). The target is ``RV_t^(h)`` squared.

    In levels, OLS of ``RV^2`` on the mean variances; the forecast is ``sqrt(max(fit, floor))``.
    In logs, OLS of ``ln RV^2`` on the log mean variances; ``exp`` of a log forecast is a median,
    so it is multiplied by the smearing factor ``mean(exp(residual))`` (Duan 1983), which is also
    the QLIKE-optimal scale of the variance forecast. With ``loss="qlike"`` (logs only) the
    log-linear model is instead fitted by minimising QLIKE (a gamma GLM with log link).

    Args:
        horizon: Forecast horizon in bars.
        proxy: Per-bar variance proxy of the regressors.
        log: Regress in logs (with the bias correction) instead of levels.
        lags: HAR averaging windows in bars.
        leverage: Add mean negative returns over ``lags`` (leverage HAR, Corsi & Reno 2012).
        overnight: Add the mean squared overnight returns over ``lags`` as regressors.
        loss: ``"ols"`` or ``"qlike"`` (log model only).
        cal_fraction: Share of the training bars used for conformal calibration.
    """

    def __init__(
        self,
        horizon: int = 5,
        proxy: str = "gk",
        log: bool = True,
        lags: tuple[int, ...] = (1, 5, 22),
        leverage: bool = False,
        overnight: bool = False,
        loss: str = "ols",
        cal_fraction: float = 0.25,
    ):
        self.horizon = horizon
        self.proxy = proxy
        self.log = log
        self.lags = lags
        self.leverage = leverage
        self.overnight = overnight
        self.loss = loss
        self.cal_fraction = cal_fraction

    def _design(self, bars: pd.DataFrame, log: bool) -> pd.DataFrame:
        return har_design(bars, self.proxy, self.lags, log, self.leverage, self.overnight)

    def _fit_core(self, bars: pd.DataFrame) -> None:
        x = self._design(bars, self.log)
        var = realised_vol_target(bars, self.horizon).clip(lower=VOL_FLOOR) ** 2
        y = np.log(var) if self.log else var
        data = pd.concat([x, y.rename("y")], axis=1).dropna()
        design = np.column_stack([np.ones(len(data)), data[x.columns].to_numpy()])
        coef, *_ = np.linalg.lstsq(design, data["y"].to_numpy(), rcond=None)
        resid = data["y"].to_numpy() - design @ coef
        self.smearing_ = float(np.mean(np.exp(resid))) if self.log else 1.0
        if self.log and self.loss == "qlike":
            start = coef.copy()
            start[0] += np.log(self.smearing_)
            coef = fit_qlike_log_linear(design, np.exp(data["y"].to_numpy()), start)
            self.smearing_ = 1.0
        self.coef_ = coef

    def predict_log_variance(self, bars: pd.DataFrame) -> pd.Series:
        """Fitted ``E[ln RV^2]`` (log model only; without the bias correction)."""
        return self.coef_[0] + self._design(bars, True) @ self.coef_[1:]

    def _predict_core(self, bars: pd.DataFrame) -> pd.Series:
        if self.log:
            return np.sqrt(np.exp(self.predict_log_variance(bars)) * self.smearing_)
        x = self._design(bars, False)
        return np.sqrt((self.coef_[0] + x @ self.coef_[1:]).clip(lower=_VAR_FLOOR))
