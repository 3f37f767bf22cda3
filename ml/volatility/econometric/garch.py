"""GARCH(1,1) with Student-t innovations (:class:`GarchModel`): fitted by ``arch``, filtered forward here."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from ml.volatility.base import VolatilityModel
from ml.volatility.targets import log_returns


class GarchModel(VolatilityModel):
    """GARCH(1,1) with Student-t innovations (Bollerslev 1986, 1987) estimated with ``arch``.

    ``fit`` estimates ``(mu, omega, alpha, beta, nu)`` by maximum likelihood on the training
    returns (in percent). ``predict`` filters the conditional variance forward with those fixed
    parameters (``s2_{t+1} = omega + alpha e_t^2 + beta s2_t``, the recursion of
    ``arch_model(...).fix(params)``) and averages the closed-form k-step forecasts
    ``E[s2_{t+k}] = sbar2 + (alpha+beta)^(k-1) (s2_{t+1} - sbar2)`` over ``k = 1..h``.

    Args:
        horizon: Forecast horizon in bars.
        dist: Innovation distribution passed to ``arch_model`` (``"t"``, ``"normal"``, ``"skewt"``).
        cal_fraction: Share of the training bars used for conformal calibration.
    """

    def __init__(self, horizon: int = 5, dist: str = "t", cal_fraction: float = 0.25):
        self.horizon = horizon
        self.dist = dist
        self.cal_fraction = cal_fraction

    def _fit_core(self, bars: pd.DataFrame) -> None:
        from arch import arch_model

        r = 100.0 * log_returns(bars).dropna()
        res = arch_model(r, mean="Constant", vol="GARCH", p=1, q=1, dist=self.dist).fit(
            disp="off", show_warning=False
        )
        self.params_ = {k: float(v) for k, v in res.params.items()}

    def one_step_variance(self, bars: pd.DataFrame) -> pd.Series:
        """``s2_{t+1}`` (percent^2) known at each bar ``t``, filtered with the fitted parameters."""
        p = self.params_
        r = 100.0 * log_returns(bars)
        valid = r.dropna()
        e2 = (valid.to_numpy() - p["mu"]) ** 2
        persistence = p["alpha[1]"] + p["beta[1]"]
        s0 = p["omega"] / (1.0 - persistence) if persistence < 1 else float(np.mean(e2))
        out = lfilter([1.0], [1.0, -p["beta[1]"]], p["omega"] + p["alpha[1]"] * e2, zi=[p["beta[1]"] * s0])[0]
        return pd.Series(out, index=valid.index).reindex(bars.index)

    def _predict_core(self, bars: pd.DataFrame) -> pd.Series:
        p, h = self.params_, self.horizon
        s1 = self.one_step_variance(bars)
        phi = p["alpha[1]"] + p["beta[1]"]
        if phi < 1.0:
            sbar = p["omega"] / (1.0 - phi)
            mean_var = sbar + (s1 - sbar) * (1.0 - phi**h) / ((1.0 - phi) * h)
        else:
            mean_var = s1 + p["omega"] * (h - 1) / 2.0
        return np.sqrt(mean_var + p["mu"] ** 2) / 100.0
