"""The one interface of every volatility model, with split-conformal intervals.

Every model forecasts, at each bar ``t`` and from bars ``<= t`` only, the realised volatility
over bars ``t+1..t+h`` (see :mod:`ml.volatility.targets`), in per-bar units.

Intervals (the ``confidence`` of a prediction) are conformal on log residuals
(Vovk et al. 2005; Lei et al. 2018): ``fit`` first fits the model on the head of the training
bars, forecasts the remaining ``cal_fraction`` (a calibration set that starts after the head's
last target is resolved), keeps the log residuals ``ln(RV) - ln(forecast)`` in time order, then
refits on all bars. ``predict_interval`` scales the forecast by residual quantiles chosen by
:data:`ml.volatility.intervals.DEFAULT_INTERVAL` (frozen into the fitted model as
``interval_method_``): adaptive conformal inference over the calibration residuals (Gibbs & Candes
2021), decided on the scorecard's selection parts (``benchmarks/bench_vol_intervals.py``). Models
pickled before it (no ``calibration_residuals_``) keep their split-conformal interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from ml.volatility.intervals import DEFAULT_INTERVAL, conformal_quantiles, interval_offsets
from ml.volatility.targets import realised_vol_target

__all__ = ["VOL_FLOOR", "VolatilityModel", "conformal_quantiles"]

VOL_FLOOR = 1e-8


class VolatilityModel(BaseEstimator):
    """Base class: subclasses implement ``_fit_core(bars)`` and ``_predict_core(bars)``.

    Subclasses must take ``horizon`` and ``cal_fraction`` in ``__init__`` and store every
    ``__init__`` argument unchanged (scikit-learn convention), so ``get_params`` lists them.
    """

    horizon: int
    cal_fraction: float
    #: If True, ``fit`` rescales the forecast by the QLIKE-optimal factor estimated on the
    #: out-of-sample calibration residuals, ``sqrt(mean(exp(2 e)))`` (for flexible models whose
    #: in-sample residuals are too small to correct their bias).
    oos_bias_correction: bool = False

    def _fit_core(self, bars: pd.DataFrame) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _predict_core(self, bars: pd.DataFrame) -> pd.Series:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, bars: pd.DataFrame, y: object = None) -> VolatilityModel:
        """Fit on ``bars`` (only targets resolved inside ``bars`` are used) and calibrate intervals.

        Args:
            bars: Training bars frame.
            y: Ignored (the target is derived from ``bars``); present for sklearn compatibility.

        Returns:
            self
        """
        resid = self._calibration_residuals(bars)
        self.scale_ = 1.0
        if self.oos_bias_correction and resid.size:
            self.scale_ = float(np.sqrt(np.mean(np.exp(2.0 * resid))))
            resid = resid - np.log(self.scale_)
        self.calibration_residuals_ = resid
        self.conformal_residuals_ = np.sort(resid)
        self.interval_method_ = DEFAULT_INTERVAL
        self.interval_cache_: dict[float, tuple[float, float]] = {}
        self._fit_core(bars)
        self.n_train_ = len(bars)
        return self

    def _calibration_residuals(self, bars: pd.DataFrame) -> np.ndarray:
        n_cal = int(len(bars) * self.cal_fraction)
        if n_cal < 20:
            return np.zeros(0)
        split = len(bars) - n_cal
        self._fit_head(bars, split)
        forecast = self._predict_core(bars).iloc[split:]
        target = realised_vol_target(bars, self.horizon).iloc[split:]
        resid = np.log(target.clip(lower=VOL_FLOOR)) - np.log(forecast.clip(lower=VOL_FLOOR))
        return resid.dropna().to_numpy()  # in time order (``fit`` keeps a sorted copy too)

    def _fit_head(self, bars: pd.DataFrame, split: int) -> None:
        """Fit on ``bars[:split]`` before calibration (``bars[split:]`` may serve for early stopping)."""
        self._fit_core(bars.iloc[:split])

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_train_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted; call fit(bars) first")

    def predict(self, bars: pd.DataFrame) -> pd.Series:
        """Forecast at each bar ``t`` of the realised vol over ``t+1..t+h`` (per-bar units).

        Args:
            bars: Bars frame up to the forecast origin (any length; warm-up rows give NaN).

        Returns:
            A float Series indexed like ``bars`` named ``vol_forecast``.
        """
        self._check_fitted()
        forecast = self._predict_core(bars) * getattr(self, "scale_", 1.0)
        return forecast.clip(lower=VOL_FLOOR).rename("vol_forecast")

    def residual_quantiles(self, coverage: float = 0.9) -> tuple[float, float]:
        """Conformal log-residual offsets ``(lo, hi)`` for a two-sided ``coverage``, by the fitted
        ``interval_method_`` (:func:`ml.volatility.intervals.interval_offsets`); split conformal for models
        fitted before it (or without time-ordered residuals)."""
        self._check_fitted()
        method, param = getattr(self, "interval_method_", ("split", 0.0))
        resid = getattr(self, "calibration_residuals_", None)
        if method == "split" or resid is None:
            return conformal_quantiles(self.conformal_residuals_, coverage)
        cache = self.__dict__.setdefault("interval_cache_", {})
        key = float(coverage)
        if key not in cache:  # the frozen state is fixed after fit: compute each coverage once
            cache[key] = interval_offsets(resid, key, method, param, self.horizon)
        return cache[key]

    def predict_interval(self, bars: pd.DataFrame, coverage: float = 0.9) -> pd.DataFrame:
        """Interval ``[lower, upper]`` that holds the realised vol with probability ``coverage``.

        Args:
            bars: Bars frame.
            coverage: Nominal two-sided coverage in (0, 1).

        Returns:
            Frame indexed like ``bars`` with columns ``lower`` and ``upper`` (per-bar units).
        """
        return self.predict_frame(bars, coverage)[["lower", "upper"]]

    def predict_frame(self, bars: pd.DataFrame, coverage: float = 0.9) -> pd.DataFrame:
        """Forecast and interval in one frame: columns ``forecast``, ``lower``, ``upper``."""
        forecast = self.predict(bars)
        lo, hi = self.residual_quantiles(coverage)
        return pd.DataFrame(
            {"forecast": forecast, "lower": forecast * np.exp(lo), "upper": forecast * np.exp(hi)},
            index=bars.index,
        )
