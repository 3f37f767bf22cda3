"""Metrics for probabilistic binary classifiers and for the trades they let through.

Classification: ROC AUC, Brier score, log loss, precision/recall/F1 at a threshold, a reliability
(calibration) table and the expected calibration error (ECE, Naeini et al. 2015).
Trading: win rate, mean return, Sharpe and max drawdown of the signals *taken* (score >= threshold)
versus *all* signals, and a threshold sweep with the fraction of signals kept.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss, f1_score, log_loss, precision_score, recall_score, roc_auc_score

from ml import metrics

SWEEP_THRESHOLDS = tuple(np.round(np.arange(0.50, 0.8001, 0.05), 2))


def _as_arrays(y, p) -> tuple[np.ndarray, np.ndarray]:
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    ok = np.isfinite(y) & np.isfinite(p)
    return y[ok], p[ok]


def calibration_table(y, p, n_bins: int = 10, strategy: str = "quantile") -> pd.DataFrame:
    """Reliability table: per score bin, the mean predicted score vs the observed success rate.

    Args:
        y: Binary outcomes (NaN rows are ignored).
        p: Predicted probabilities.
        n_bins: Number of bins.
        strategy: "quantile" (equal-count bins, e.g. deciles) or "uniform" (equal-width on [0, 1]).

    Returns:
        Frame with one row per non-empty bin: ``lo``, ``hi`` (score edges), ``n``, ``mean_pred``,
        ``obs_rate``, ``abs_gap`` and ``se`` (binomial standard error of ``obs_rate``).
    """
    y, p = _as_arrays(y, p)
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1))) if len(p) else np.array([0.0, 1.0])
    else:
        edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(len(edges) - 2, 0))
    frame = pd.DataFrame({"bin": bins, "y": y, "p": p})
    table = frame.groupby("bin").agg(n=("y", "size"), mean_pred=("p", "mean"), obs_rate=("y", "mean"))
    table["lo"] = edges[table.index]
    table["hi"] = edges[np.minimum(table.index + 1, len(edges) - 1)]
    table["abs_gap"] = (table["mean_pred"] - table["obs_rate"]).abs()
    table["se"] = np.sqrt(table["obs_rate"] * (1 - table["obs_rate"]) / table["n"])
    return table[["lo", "hi", "n", "mean_pred", "obs_rate", "abs_gap", "se"]].reset_index(drop=True)


def expected_calibration_error(y, p, n_bins: int = 10, strategy: str = "uniform") -> float:
    """ECE: sample-weighted mean of |mean predicted − observed rate| over score bins."""
    table = calibration_table(y, p, n_bins, strategy)
    if table.empty:
        return float("nan")
    return float((table["abs_gap"] * table["n"]).sum() / table["n"].sum())


def classification_report(y, p, threshold: float = 0.5) -> dict[str, float]:
    """AUC, Brier, log loss, precision/recall/F1 at ``threshold``, ECE and base rate.

    Args:
        y: Binary outcomes (NaN rows ignored).
        p: Predicted probabilities.
        threshold: Positive prediction when ``p >= threshold``.

    Returns:
        Dict of floats; AUC is NaN when only one class is present.
    """
    y, p = _as_arrays(y, p)
    pred = (p >= threshold).astype(int)
    two_classes = len(np.unique(y)) == 2
    return {
        "n": float(len(y)),
        "base_rate": float(y.mean()) if len(y) else float("nan"),
        "auc": float(roc_auc_score(y, p)) if two_classes else float("nan"),
        "brier": float(brier_score_loss(y, p)) if len(y) else float("nan"),
        "log_loss": float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])) if len(y) else float("nan"),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "ece": expected_calibration_error(y, p),
        "kept_frac": float(pred.mean()) if len(y) else float("nan"),
    }


def max_drawdown(returns) -> float:
    """Largest peak-to-trough fall of the cumulative (additive, fixed-notional) trade P&L curve."""
    r = np.nan_to_num(np.asarray(returns, dtype=float))
    if r.size == 0:
        return 0.0
    return metrics.max_drawdown(np.concatenate([[0.0], np.cumsum(r)]), relative=False)


def trading_metrics(returns, times=None) -> dict[str, float]:
    """Win rate, mean/total return, Sharpe and max drawdown of a sequence of trade returns.

    Args:
        returns: Side-adjusted trade returns in time order (NaN ignored).
        times: Optional trade timestamps; when given, the Sharpe ratio is annualised with the
            observed number of trades per year (``mean/std * sqrt(trades_per_year)``), otherwise
            it is per trade.

    Returns:
        Dict with ``n``, ``win_rate``, ``mean_ret``, ``total_ret``, ``sharpe``, ``max_drawdown``.
    """
    r = np.asarray(returns, dtype=float)
    ok = np.isfinite(r)
    r = r[ok]
    n = len(r)
    std = r.std(ddof=1) if n > 1 else np.nan
    sharpe = r.mean() / std if n > 1 and std > 0 else np.nan
    if times is not None and n > 1:
        t = pd.DatetimeIndex(np.asarray(times)[ok])
        years = (t.max() - t.min()).days / 365.25
        sharpe = sharpe * np.sqrt(n / years) if years > 0 else sharpe
    return {
        "n": float(n),
        "win_rate": float((r > 0).mean()) if n else float("nan"),
        "mean_ret": float(r.mean()) if n else float("nan"),
        "total_ret": float(r.sum()),
        "sharpe": float(sharpe),
        "max_drawdown": max_drawdown(r),
    }


def taken_vs_all(returns, scores, threshold: float, times=None, labels=None) -> pd.DataFrame:
    """Trading metrics of all signals, the taken ones (score >= threshold) and the skipped ones.

    Args:
        returns: Side-adjusted trade returns, in time order.
        scores: Quality scores aligned with ``returns``.
        threshold: Take a signal when its score >= threshold.
        times: Optional timestamps (annualises Sharpe).
        labels: Optional meta-labels; when given, ``success_rate`` (label mean) is added.

    Returns:
        Frame indexed by ``all``/``taken``/``skipped`` with :func:`trading_metrics` columns plus
        ``kept_frac``.
    """
    r, s = np.asarray(returns, dtype=float), np.asarray(scores, dtype=float)
    masks = {"all": np.ones(len(r), bool), "taken": s >= threshold, "skipped": s < threshold}
    rows = {}
    for name, m in masks.items():
        row = trading_metrics(r[m], None if times is None else np.asarray(times)[m])
        row["kept_frac"] = float(m.mean()) if len(m) else float("nan")
        if labels is not None:
            lab = np.asarray(labels, dtype=float)[m]
            row["success_rate"] = float(np.nanmean(lab)) if m.any() else float("nan")
        rows[name] = row
    return pd.DataFrame(rows).T


def threshold_sweep(y, p, returns=None, thresholds=SWEEP_THRESHOLDS) -> pd.DataFrame:
    """Kept fraction, precision (= success rate of kept), recall and trade metrics per threshold.

    Args:
        y: Binary outcomes.
        p: Scores.
        returns: Optional side-adjusted trade returns (adds ``mean_ret``, ``sharpe``).
        thresholds: Thresholds to evaluate (default 0.50…0.80 step 0.05).

    Returns:
        Frame with one row per threshold.
    """
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    rows = []
    for t in thresholds:
        kept = p >= t
        row = {"threshold": float(t), "kept_frac": float(kept.mean()), "n_kept": int(kept.sum()),
               "precision": float(y[kept].mean()) if kept.any() else float("nan"),
               "recall": float(y[kept].sum() / max(y.sum(), 1))}
        if returns is not None:
            tm = trading_metrics(np.asarray(returns, dtype=float)[kept])
            row.update(mean_ret=tm["mean_ret"], sharpe=tm["sharpe"], win_rate=tm["win_rate"])
        rows.append(row)
    return pd.DataFrame(rows)
