"""Econometric baselines: EWMA (RiskMetrics), GARCH(1,1) Student-t, HAR-RV (Corsi 2009).

Modules: :mod:`ml.volatility.econometric.ewma` (:class:`EwmaModel`), :mod:`ml.volatility.econometric.garch`
(:class:`GarchModel`), :mod:`ml.volatility.econometric.regressors` (the HAR regressors, the QLIKE fit of a
log-linear variance model), :mod:`ml.volatility.econometric.har` (:class:`HarModel`).
"""

from ml.volatility.econometric.ewma import EwmaModel
from ml.volatility.econometric.garch import GarchModel
from ml.volatility.econometric.har import HarModel
from ml.volatility.econometric.regressors import fit_qlike_log_linear, har_design

__all__ = [
    "EwmaModel",
    "GarchModel",
    "HarModel",
    "fit_qlike_log_linear",
    "har_design",
]
