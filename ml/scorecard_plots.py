"""The scorecard's figures: on the lockbox, calibration and lift of the signal scores, forecast vs realised
volatility per series, drawdown of fixed vs volatility-targeted sizing; and that drawdown over the sizing
walk-forward (every bar after five years), for both declared policies. ``matplotlib.figure.Figure`` only."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ml.risk import compare_sizing
from ml.scorecard.sizing_walkforward import DE_RISK_ONLY
from ml.signal_quality.plots import plot_calibration
from ml.volatility.plots import forecast_vs_realised


def lift_curve(signals: pd.DataFrame) -> Figure:
    """Win rate of the top ``k``% of signals by score against ``k``, beside the win rate of taking them all."""
    ordered = signals.sort_values("score", ascending=False)
    wins = ordered["label"].to_numpy(float)
    kept = np.arange(1, len(wins) + 1) / len(wins)
    rate = np.cumsum(wins) / np.arange(1, len(wins) + 1)
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(kept, rate, label="top-k% by score")
    ax.axhline(wins.mean(), ls="--", c="grey", label=f"take all ({wins.mean():.3f})")
    ax.axvline(0.3, ls=":", c="tab:red", label="30% kept")
    ax.set(xlabel="share of signals kept", ylabel="win rate", title="Lift (lockbox)", ylim=(0, 1))
    ax.legend()
    fig.tight_layout()
    return fig


def drawdowns(close: pd.Series, forecast: pd.Series, target_vol: float | pd.Series, max_leverage: float = 2.0,
              title: str = "Drawdown") -> Figure:
    """Drawdown of an always-long position, fixed vs volatility-targeted, on the bars with a forecast."""
    rets = compare_sizing(close, forecast, target_vol=target_vol, max_leverage=max_leverage).returns
    fig = Figure(figsize=(11, 3.5))
    ax = fig.subplots()
    for name, r in rets.items():
        equity = (1 + r.fillna(0.0)).cumprod()
        ax.plot(equity.index, equity / equity.cummax() - 1, lw=0.9, label=name)
    ax.set(title=title, ylabel="drawdown")
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def scorecard_figures(bars: dict[str, pd.DataFrame], scores, selection, max_leverage: float = 2.0) -> dict[str, Figure]:
    """Every figure of the scorecard (name -> figure)."""
    figures = {"signal_calibration": plot_calibration(scores.signals["label"], scores.signals["score"]),
               "signal_lift": lift_curve(scores.signals)}
    for symbol, fc in scores.forecasts.items():
        figures[f"volatility_{symbol}"] = forecast_vs_realised(
            fc, f"{symbol}: {selection.vol_model} forecast vs realised (lockbox)")
        figures[f"drawdown_{symbol}"] = drawdowns(bars[symbol]["close"], fc["forecast"],
                                                  selection.target_vol[symbol], max_leverage,
                                                  f"{symbol}: drawdown, fixed vs volatility-targeted (lockbox)")
    for symbol, inputs in scores.sizing_walk_forward_inputs.items():
        figures[f"drawdown_walk_forward_{symbol}"] = drawdowns(
            bars[symbol]["close"], inputs["forecast"], inputs["target"], max_leverage,
            f"{symbol}: drawdown, fixed vs volatility-targeted (walk-forward from year 5)")
        figures[f"drawdown_walk_forward_de_risk_{symbol}"] = drawdowns(
            bars[symbol]["close"], inputs["forecast"], inputs["target"], DE_RISK_ONLY.max_leverage,
            f"{symbol}: drawdown, fixed vs de-risk only (cap 1; walk-forward from year 5)")
    return figures
