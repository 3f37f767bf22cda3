"""RiskMetrics EWMA variance (:class:`EwmaModel`): nothing to estimate, a flat forecast."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features import variance_proxy
from ml.volatility.base import VolatilityModel


class EwmaModel(VolatilityModel):
    """RiskMetrics (J.P. Morgan 1996) EWMA variance ``s2_t = lam s2_{t-1} + (1-lam) r_t^2``.

    The variance is a random walk under RiskMetrics, so the forecast over ``t+1..t+h`` is flat:
    ``sqrt(s2_t)``. There is nothing to estimate; ``fit`` only calibrates the intervals.

    Args:
        horizon: Forecast horizon in bars.
        lam: Decay factor (0.94 for daily data).
        proxy: Per-bar variance proxy fed to the recursion (see ``ml.features.variance_proxy``).
        cal_fraction: Share of the training bars used for conformal calibration.
    """

    def __init__(self, horizon: int = 5, lam: float = 0.94, proxy: str = "cc", cal_fraction: float = 0.25):
        self.horizon = horizon
        self.lam = lam
        self.proxy = proxy
        self.cal_fraction = cal_fraction

    def _fit_core(self, bars: pd.DataFrame) -> None:
        self.fitted_ = True

    def _predict_core(self, bars: pd.DataFrame) -> pd.Series:
        var = variance_proxy(bars, self.proxy).ewm(alpha=1.0 - self.lam, adjust=True, min_periods=5).mean()
        return np.sqrt(var)
