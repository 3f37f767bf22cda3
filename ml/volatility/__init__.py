"""Volatility forecasting: target, models behind one interface, walk-forward evaluation.

Target (see :mod:`ml.volatility.targets`): ``RV_t^(h) = sqrt(mean(r_{t+1..t+h}^2))`` of
close-to-close log returns, per-bar units.
"""

from ml.volatility.base import VolatilityModel
from ml.volatility.boosting import XgbModel
from ml.volatility.econometric import EwmaModel, GarchModel, HarModel
from ml.volatility.ensemble import EnsembleModel
from ml.volatility.registry import DEFAULT_MODEL, MODELS, make_model
from ml.volatility.targets import realised_vol_target, trailing_realised_vol

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "EnsembleModel",
    "EwmaModel",
    "GarchModel",
    "HarModel",
    "VolatilityModel",
    "XgbModel",
    "make_model",
    "realised_vol_target",
    "trailing_realised_vol",
]
