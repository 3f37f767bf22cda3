"""Econometric baselines: EWMA (RiskMetrics), GARCH(1,1) Student-t, HAR-RV (Corsi 2009)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.signal import lfilter

from ml.features import variance_proxy
from ml.volatility.base import VOL_FLOOR, VolatilityModel
from ml.volatility.targets import log_returns, realised_vol_target

_VAR_FLOOR = VOL_FLOOR**2


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


def _mean_var_columns(var: pd.Series, lags: tuple[int, ...], prefix: str) -> dict[str, pd.Series]:
    floor = max(float(var[var > 0].median()) * 1e-3, _VAR_FLOOR) if (var > 0).any() else _VAR_FLOOR
    # np.maximum: Series.clip's result (NaN kept) at a sixth of its cost, on the request path
    return {f"{prefix}_{d}": np.maximum(var.rolling(d, min_periods=d).mean(), floor) for d in lags}


def har_design(
    bars: pd.DataFrame,
    proxy: str,
    lags: tuple[int, ...],
    log: bool,
    leverage: bool = False,
    overnight: bool = False,
) -> pd.DataFrame:
    """HAR regressors: mean of the per-bar variance proxy over the last ``d`` bars, ``d`` in ``lags``.

    With ``leverage`` it adds the mean negative log return over the same windows (the
    leverage-HAR of Corsi & Reno 2012); with ``overnight`` the mean squared overnight return
    ``ln(O_t / C_{t-1})^2`` as separate regressors (range proxies miss the overnight gap).
    """
    cols = _mean_var_columns(variance_proxy(bars, proxy), lags, "har")
    if overnight:
        on = (np.log(bars["open"]) - np.log(bars["close"]).shift(1)) ** 2
        cols.update(_mean_var_columns(on, lags, "on"))
    frame = pd.DataFrame(cols, index=bars.index)
    frame = np.log(frame) if log else frame
    if leverage:
        neg = np.minimum(log_returns(bars), 0.0)
        for d in lags:
            frame[f"lev_{d}"] = neg.rolling(d, min_periods=d).mean()
    return frame


def fit_qlike_log_linear(design: np.ndarray, var_target: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Coefficients ``b`` minimising mean QLIKE of the variance forecast ``exp(design @ b)``.

    ``y/exp(Xb) + Xb`` is convex in ``b`` (it is the gamma deviance with a log link, up to
    constants), so Newton's method from the log-OLS start converges; it targets the conditional
    mean of the variance, so no bias correction is needed.
    """

    def fun(b: np.ndarray) -> tuple[float, np.ndarray]:
        eta = design @ b
        w = var_target * np.exp(-eta)
        return float(np.mean(w + eta)), design.T @ (1.0 - w) / len(w)

    def hess(b: np.ndarray) -> np.ndarray:
        w = var_target * np.exp(-(design @ b))
        return (design * w[:, None]).T @ design / len(w)

    res = minimize(fun, start, jac=True, hess=hess, method="trust-exact")
    ok = np.all(np.isfinite(res.x)) and fun(res.x)[0] <= fun(start)[0]
    return res.x if ok else start


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
