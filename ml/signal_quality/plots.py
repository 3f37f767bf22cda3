"""Diagnostic figures for signal scorers.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot, no global backend state),
so they render with the non-interactive Agg canvas: ``fig.savefig("x.png")``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from sklearn.metrics import roc_auc_score, roc_curve

from ml.classification_metrics import calibration_table


def plot_calibration(y, p, n_bins: int = 10) -> Figure:
    """Reliability diagram: observed success rate (±2 s.e.) vs mean score per quantile bin."""
    table = calibration_table(y, p, n_bins=n_bins, strategy="quantile")
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls="--", c="grey", label="perfect")
    ax.errorbar(table["mean_pred"], table["obs_rate"], yerr=2 * table["se"], marker="o", label="model")
    ax.set(xlabel="mean predicted score", ylabel="observed success rate", title="Calibration")
    ax.legend()
    return fig


def plot_roc(y, p) -> Figure:
    """ROC curve with its AUC."""
    y, p = np.asarray(y, float), np.asarray(p, float)
    fpr, tpr, _ = roc_curve(y, p)
    fig = Figure(figsize=(5, 5))
    ax = fig.subplots()
    ax.plot(fpr, tpr, label=f"AUC = {roc_auc_score(y, p):.3f}")
    ax.plot([0, 1], [0, 1], ls="--", c="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC")
    ax.legend()
    return fig


def plot_threshold_sweep(sweep: pd.DataFrame) -> Figure:
    """Precision (win rate of kept signals) and fraction kept against the threshold."""
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    ax.plot(sweep["threshold"], sweep["precision"], marker="o", label="success rate of kept")
    ax.plot(sweep["threshold"], sweep["kept_frac"], marker="s", label="fraction kept")
    ax.set(xlabel="threshold", ylim=(0, 1), title="Threshold sweep")
    ax.legend()
    return fig


def plot_feature_importance(importance: pd.Series, top: int = 20) -> Figure:
    """Horizontal bars of the ``top`` largest importances (e.g. ``SignalQualityScorer.gain_importance()``)."""
    imp = importance.sort_values(ascending=False).head(top)[::-1]
    fig = Figure(figsize=(6, max(3, 0.3 * len(imp))))
    ax = fig.subplots()
    ax.barh(imp.index.astype(str), imp.to_numpy())
    ax.set(xlabel="share of total gain", title="Feature importance (gain)")
    fig.tight_layout()
    return fig
