"""Matplotlib figures of volatility forecasts, returned and never shown.

Figures are built with the object API (``matplotlib.figure.Figure``), not pyplot: nothing is kept in
pyplot's global registry (long-running flow servers do not accumulate figures) and concurrent flows in
threads do not share state.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def _one_model(forecasts: pd.DataFrame) -> pd.DataFrame:
    if "model" in forecasts and forecasts["model"].nunique() > 1:
        raise ValueError("pass the forecasts of one model (filter on the 'model' column)")
    return forecasts


def forecast_vs_realised(forecasts: pd.DataFrame, title: str = "Volatility forecast vs realised") -> Figure:
    """Forecast, interval band and realised volatility over time.

    Args:
        forecasts: Frame indexed by time with ``forecast``, ``realised`` and optional ``lower``/``upper``
            (e.g. one model of ``WalkForwardResult.forecasts``).
        title: Figure title.
    """
    fc = _one_model(forecasts)
    fig = Figure(figsize=(11, 4))
    ax = fig.subplots()
    if {"lower", "upper"} <= set(fc.columns):
        ax.fill_between(fc.index, fc["lower"], fc["upper"], color="tab:blue", alpha=0.2, label="interval")
    ax.plot(fc.index, fc["realised"], color="black", lw=0.7, label="realised")
    ax.plot(fc.index, fc["forecast"], color="tab:blue", lw=1.0, label="forecast")
    ax.set(title=title, ylabel="volatility per bar")
    ax.legend(loc="upper right")
    fig.tight_layout()
    return fig


def interval_calibration(
    forecasts: pd.DataFrame, coverage: float = 0.9, window: int = 63, title: str = "Interval calibration"
) -> Figure:
    """Rolling empirical coverage vs nominal, and where the realised value falls inside the band.

    The right panel is the histogram of ``u = ln(RV/lower) / ln(upper/lower)`` (0 = lower edge,
    1 = upper edge); a calibrated interval puts ``coverage`` of the mass in [0, 1] and splits
    the rest evenly on both sides.
    """
    fc = _one_model(forecasts).dropna(subset=["realised", "lower", "upper"])
    inside = ((fc["realised"] >= fc["lower"]) & (fc["realised"] <= fc["upper"])).astype(float)
    u = np.log(fc["realised"] / fc["lower"]) / np.log(fc["upper"] / fc["lower"])
    fig = Figure(figsize=(11, 4))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
    left.plot(fc.index, inside.rolling(window, min_periods=1).mean(), lw=1.0, label=f"{window}-bar coverage")
    left.axhline(coverage, color="red", ls="--", label=f"nominal {coverage:.0%}")
    left.set(ylim=(0, 1.02), title=f"{title}: overall {inside.mean():.1%}", ylabel="coverage")
    left.legend(loc="lower right")
    right.hist(u.clip(-1, 2), bins=30, color="tab:blue", alpha=0.7)
    for edge in (0, 1):
        right.axvline(edge, color="red", ls="--")
    right.set(title="position of realised in band", xlabel="u")
    fig.tight_layout()
    return fig


def feature_importance(importances: pd.Series, top: int = 20, title: str = "Feature importance") -> Figure:
    """Horizontal bar chart of the ``top`` largest importances (e.g. ``XgbModel.feature_importances_``)."""
    imp = importances.sort_values(ascending=False).head(top).iloc[::-1]
    fig = Figure(figsize=(7, 0.3 * len(imp) + 1.2))
    ax = fig.subplots()
    ax.barh(imp.index.astype(str), imp.to_numpy(), color="tab:blue")
    ax.set(title=title, xlabel="importance")
    fig.tight_layout()
    return fig
