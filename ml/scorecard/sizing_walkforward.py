"""Volatility-targeted sizing over an expanding walk-forward of every out-of-sample bar (issue 19).

The lockbox sizing cells (:func:`ml.scorecard.metrics.sizing_scores`) trade only the last 20% of each series,
which for SP500 and NASDAQ is 2015-2018: no crash in it. This evaluation trades every bar after the first
``train_bars`` (five years of daily bars), so 2008 is in it for the series that start before 2003.

The policy is declared here, before any run, and is the scorecard's own policy made causal for a walk-forward
(nothing in it is chosen from results):

* volatility model: the pipeline's declared production model (:data:`ml.volatility.registry.DEFAULT_MODEL`),
  refitted every ``refit_every`` bars on all bars before the origin minus a purge of the horizon, forecasting
  the next ``refit_every`` bars from past bars only (:func:`ml.volatility.evaluation.walk_forward_forecasts`);
* target volatility at bar ``t``: the root mean square of the per-bar log returns of bars ``<= t`` (the
  lockbox policy targets the selection part's, an expanding mean here); leverage capped at ``max_leverage``;
* strategies: always long and the SMA(200) trend, fixed vs vol-targeted (:func:`ml.scorecard.metrics.sizing_scores`).

Pure: pandas/numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.scorecard.metrics import sizing_scores
from ml.volatility.evaluation import WalkForwardConfig, walk_forward_forecasts
from ml.volatility.registry import DEFAULT_MODEL, make_model
from ml.volatility.targets import log_returns


@dataclass(frozen=True)
class SizingWalkForward:
    """The declared walk-forward sizing policy.

    Attributes:
        train_bars: Bars of the first training window (five years of daily bars); trading starts after them.
        refit_every: Bars between refits of the volatility model.
        horizon: Volatility forecast horizon in bars (also the purge before each origin).
        max_leverage: Cap of the vol-targeting scale.
        model: Volatility model name (:func:`ml.volatility.registry.make_model`).
    """

    train_bars: int = 1260
    refit_every: int = 63
    horizon: int = 5
    max_leverage: float = 2.0
    model: str = DEFAULT_MODEL

    def forecasts(self, bars: pd.DataFrame) -> pd.Series:
        """Out-of-sample forecasts of every bar after ``train_bars`` (NaN before)."""
        if not self.tradable(bars):
            raise ValueError(f"{len(bars)} bars leave nothing to trade after {self.train_bars} training bars")
        config = WalkForwardConfig(horizon=self.horizon, refit_every=self.refit_every,
                                   test_fraction=1.0 - self.train_bars / len(bars))
        frame = walk_forward_forecasts(bars, make_model(self.model, horizon=self.horizon), config)
        return frame["forecast"].reindex(bars.index)

    def target_vol(self, bars: pd.DataFrame) -> pd.Series:
        """Causal target: RMS of the per-bar log returns of bars up to and including ``t``."""
        return np.sqrt((log_returns(bars) ** 2).expanding(min_periods=self.train_bars // 2).mean())

    def tradable(self, bars: pd.DataFrame) -> bool:
        """Whether ``bars`` has bars left to trade after the first training window."""
        return len(bars) > self.train_bars + self.horizon

    def inputs(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Columns ``forecast`` (:meth:`forecasts`) and ``target`` (:meth:`target_vol`), indexed like ``bars``."""
        return pd.DataFrame({"forecast": self.forecasts(bars), "target": self.target_vol(bars)})

    def evaluate(self, bars: pd.DataFrame, inputs: pd.DataFrame | None = None) -> dict[str, dict[str, float]]:
        """``strategy -> {start, end, n_bars, sharpe_fix, sharpe_vt, mdd_fix, mdd_vt, mdd_ratio, exposure_vt, met}``
        (the cells of :func:`ml.scorecard.metrics.sizing_scores`, with the traded span).

        Args:
            bars: One series' bars (all of them: the walk-forward chooses nothing).
            inputs: Precomputed :meth:`inputs` of ``bars`` (computed when None).
        """
        inputs = self.inputs(bars) if inputs is None else inputs
        traded = inputs["forecast"].dropna().index
        span = {"start": str(traded[0].date()), "end": str(traded[-1].date()), "n_bars": float(len(traded))}
        cells = sizing_scores(bars["close"], inputs["forecast"], inputs["target"], self.max_leverage)
        return {name: {**span, **cell} for name, cell in cells.items()}
