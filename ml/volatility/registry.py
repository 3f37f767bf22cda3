"""Registry of the volatility models by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from ml.volatility.base import VolatilityModel
from ml.volatility.boosting import XgbModel
from ml.volatility.econometric import EwmaModel, GarchModel, HarModel
from ml.volatility.ensemble import EnsembleModel

MODELS: dict[str, Callable[..., VolatilityModel]] = {
    "ewma": EwmaModel,
    "garch_t": partial(GarchModel, dist="t"),
    "har_cc": partial(HarModel, proxy="cc", log=False),
    "har_cc_log": partial(HarModel, proxy="cc", log=True),
    "har_pk": partial(HarModel, proxy="pk", log=False),
    "har_pk_log": partial(HarModel, proxy="pk", log=True),
    "har_gk": partial(HarModel, proxy="gk", log=False),
    "har_gk_log": partial(HarModel, proxy="gk", log=True),
    "lhar_gk_qlike": partial(HarModel, proxy="gk", log=True, leverage=True, loss="qlike"),
    "lhar_rs_qlike": partial(HarModel, proxy="rs", log=True, leverage=True, loss="qlike"),
    "lhar_gk_ext": partial(HarModel, proxy="gk", log=True, leverage=True, loss="qlike", lags=(1, 2, 5, 10, 22, 66)),
    "lhar_rs_ext": partial(HarModel, proxy="rs", log=True, leverage=True, loss="qlike", lags=(1, 2, 5, 10, 22, 66)),
    "xgb": XgbModel,
    "ensemble": EnsembleModel,
}

#: Name of the model the pipeline trains and promotes by default: the leverage HAR on Garman-Klass
#: variance with 1/2/5/10/22/66-bar windows fitted by QLIKE. It was chosen by the lowest mean
#: QLIKE ratio to GARCH-t in a walk-forward on the *pre-test* 60% of SP500, NASDAQ and GOOG
#: (see benchmarks/RESULTS.md, "Volatility").
DEFAULT_MODEL = "lhar_gk_ext"


def make_model(name: str, horizon: int = 5, **params: Any) -> VolatilityModel:
    """Build an unfitted model from the registry.

    Args:
        name: A key of :data:`MODELS`.
        horizon: Forecast horizon in bars.
        **params: Constructor parameters overriding the registry defaults.

    Returns:
        The unfitted model.
    """
    try:
        factory = MODELS[name]
    except KeyError:
        raise KeyError(f"unknown volatility model {name!r}; choose from {sorted(MODELS)}") from None
    return factory(horizon=horizon, **params)
