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

A second policy, **de-risk only** (:data:`DE_RISK_ONLY`, :meth:`SizingWalkForward.de_risk_only`), was declared
here in code before its first run, after the first policy's one run (benchmarks/RESULTS.md, 2026-12-03 15:19): the
same forecasts and target with the scale capped at 1 (``max_leverage=1.0``). The position is never larger than the
fixed-size one; it is cut only when the forecast exceeds the long-run level. Why: a sizing rule that only reduces
risk is the conservative production rule, and the Sharpe ratio is scale-free, so the comparison with fixed sizing
is about the timing of the cuts, not about running more exposure (the first policy ran at 1.1-1.7x the fixed
exposure on average). The cap was chosen after that diagnosis, on the same out-of-sample bars: a declared policy,
not a test on unseen data. No other cap or variant is tried.

Pure: pandas/numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ml.risk import position_size
from ml.scorecard.metrics import sizing_scores
from ml.volatility.evaluation import forecasts_after
from ml.volatility.registry import DEFAULT_MODEL, make_model
from ml.volatility.targets import log_returns

#: The de-risk-only cap: the vol-targeted position is never larger than the fixed-size one.
DE_RISK_ONLY_LEVERAGE = 1.0


@dataclass(frozen=True)
class SizingWalkForward:
    """The declared walk-forward sizing policy.

    Attributes:
        train_bars: Bars of the first training window (five years of daily bars); trading starts after them.
        refit_every: Bars between refits of the volatility model.
        horizon: Volatility forecast horizon in bars (also the purge before each origin).
        max_leverage: Cap of the vol-targeting scale (2 for the first policy, 1 for :meth:`de_risk_only`).
        model: Volatility model name (:func:`ml.volatility.registry.make_model`).
        name: The policy's name in reports (``declared`` or ``de_risk_only``).
    """

    train_bars: int = 1260
    refit_every: int = 63
    horizon: int = 5
    max_leverage: float = 2.0
    model: str = DEFAULT_MODEL
    name: str = "declared"

    def de_risk_only(self) -> SizingWalkForward:
        """The de-risk-only policy: the same forecasts and target, the scale capped at 1 (see the module docstring).

        Only ``max_leverage`` (and the name) differ, so :meth:`inputs` of either policy are the same and one
        walk-forward serves both.
        """
        return replace(self, max_leverage=DE_RISK_ONLY_LEVERAGE, name="de_risk_only")

    def forecasts(self, bars: pd.DataFrame) -> pd.Series:
        """Out-of-sample forecasts of every bar after ``train_bars`` (NaN before)."""
        if not self.tradable(bars):
            raise ValueError(f"{len(bars)} bars leave nothing to trade after {self.train_bars} training bars")
        return forecasts_after(bars, make_model(self.model, horizon=self.horizon), self.train_bars, self.horizon,
                               self.refit_every)

    def target_vol(self, bars: pd.DataFrame) -> pd.Series:
        """Causal target: RMS of the per-bar log returns of bars up to and including ``t``."""
        return np.sqrt((log_returns(bars) ** 2).expanding(min_periods=self.train_bars // 2).mean())

    def tradable(self, bars: pd.DataFrame) -> bool:
        """Whether ``bars`` has bars left to trade after the first training window."""
        return len(bars) > self.train_bars + self.horizon

    def inputs(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Columns ``forecast`` (:meth:`forecasts`) and ``target`` (:meth:`target_vol`), indexed like ``bars``."""
        return pd.DataFrame({"forecast": self.forecasts(bars), "target": self.target_vol(bars)})

    def scale(self, inputs: pd.DataFrame) -> pd.Series:
        """The vol-targeted position relative to the fixed-size one at each bar: ``min(target / forecast, cap)``
        (:func:`ml.risk.position_size` of a unit position; 0 without a forecast), as :meth:`evaluate` trades it."""
        return position_size(1.0, inputs["forecast"], inputs["target"], self.max_leverage)

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


#: The first declared policy (target the expanding RMS of returns, leverage cap 2), run once on 2026-12-03.
DECLARED = SizingWalkForward()
#: The second declared policy, de-risk only (the scale capped at 1), declared before its first run.
DE_RISK_ONLY = DECLARED.de_risk_only()
