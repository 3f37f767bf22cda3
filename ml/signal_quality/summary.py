"""The signal-quality training report, as pure functions: flat metrics of out-of-sample scores, the table
per model x dataset (x strategy), the MLflow metrics flattened from it, and the drift reference sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.signal_quality.recipe import PooledSets
from ml.signal_quality.validation import evaluate_oos

SUMMARY_METRICS = ("auc", "brier", "ece", "precision", "recall", "f1", "kept_frac", "win_all", "win_kept",
                   "win_ratio", "ret_all", "ret_kept", "sharpe_all", "sharpe_kept", "mdd_all", "mdd_kept")
BASELINE_METRICS = ("auc", "brier", "ece", "kept_frac", "win_kept", "win_ratio", "ret_kept")
#: Most rows kept in the drift reference (a seeded random sample of the fitted rows beyond that).
REFERENCE_MAX_ROWS = 5_000


def oos_metrics(oos: pd.DataFrame) -> dict[str, float]:
    """Flat metrics of out-of-sample scores: classification at each fold's threshold, calibration
    (ECE) and trading metrics of the signals taken vs all of them."""
    ev = evaluate_oos(oos)
    rep, tr = ev["report"], ev["trading"]
    win_all = tr.loc["all", "win_rate"]
    return {
        "n_oos": float(rep["n"]), "base_rate": rep["base_rate"], "auc": rep["auc"], "brier": rep["brier"],
        "log_loss": rep["log_loss"], "ece": rep["ece"], "precision": rep["precision"], "recall": rep["recall"],
        "f1": rep["f1"], "kept_frac": float(tr.loc["taken", "kept_frac"]),
        "win_all": float(win_all), "win_kept": float(tr.loc["taken", "win_rate"]),
        "win_ratio": float(tr.loc["taken", "win_rate"] / win_all) if win_all else float("nan"),
        "ret_all": float(tr.loc["all", "mean_ret"]), "ret_kept": float(tr.loc["taken", "mean_ret"]),
        "sharpe_all": float(tr.loc["all", "sharpe"]), "sharpe_kept": float(tr.loc["taken", "sharpe"]),
        "mdd_all": float(tr.loc["all", "max_drawdown"]), "mdd_kept": float(tr.loc["taken", "max_drawdown"]),
    }


def summary_table(oos: dict[str, pd.DataFrame], chosen: str) -> pd.DataFrame:
    """Rows per model x dataset (and overall), plus per dataset x strategy for the chosen model."""
    rows = []
    for model, frame in oos.items():
        parts = frame.assign(dataset=frame["group"].str.split("|").str[0],
                             strategy=frame["group"].str.split("|").str[1])
        cells = [("ALL", "ALL", parts)] + [(d, "ALL", g) for d, g in parts.groupby("dataset", sort=False)]
        if model == chosen:
            cells += [(d, s, g) for (d, s), g in parts.groupby(["dataset", "strategy"], sort=False)]
        rows += [{"model": model, "dataset": d, "strategy": s, **oos_metrics(g)} for d, s, g in cells]
    return pd.DataFrame(rows).set_index(["model", "dataset", "strategy"])


def flat_metrics(table: pd.DataFrame, chosen: str) -> dict[str, float]:
    """MLflow metrics: the chosen model overall (``auc``...) and per dataset (``auc_GOOG``...);
    baselines as ``<baseline>_<metric>`` and ``auc_lift_<baseline>``. Per dataset x strategy rows
    are in the ``oos_summary`` artifact only."""
    out: dict[str, float] = {}
    mine = table.loc[chosen]
    out.update({k: float(v) for k, v in mine.loc[("ALL", "ALL")].items()})
    for dataset in mine.index.get_level_values("dataset").unique().drop("ALL", errors="ignore"):
        out.update({f"{k}_{dataset}": float(mine.loc[(dataset, "ALL"), k]) for k in SUMMARY_METRICS})
    out["auc_lift_take_all"] = 0.0  # overwritten below unless take-all itself was trained
    for baseline in table.index.get_level_values("model").unique():
        if baseline == chosen:
            continue
        row = table.loc[(baseline, "ALL", "ALL")]
        out.update({f"{baseline}_{k}": float(row[k]) for k in BASELINE_METRICS})
        out[f"auc_lift_{baseline}"] = out["auc"] - float(row["auc"])
    return out


def overall_line(model: str, table: pd.DataFrame) -> str:
    """One log line: the trained model's overall AUC against the baselines', ECE, kept share and win rates."""
    overall = table.xs(("ALL", "ALL"), level=("dataset", "strategy"))
    m = overall.loc[model]
    baselines = ", ".join(f"{b} {overall.loc[b, 'auc']:.4f}" for b in overall.index if b != model)
    return (f"{model} out-of-sample: AUC {m['auc']:.4f} ({baselines}), ECE {m['ece']:.4f}, kept "
            f"{100 * m['kept_frac']:.1f}%, win rate {m['win_all']:.3f} -> {m['win_kept']:.3f}")


def reference_sample(pooled: PooledSets, max_rows: int = REFERENCE_MAX_ROWS, seed: int = 0) -> pd.DataFrame:
    """The drift reference: the resolved signals' feature rows (the rows the final scorer is fitted on),
    only the model's feature columns, at most ``max_rows`` of them (seeded random sample, time order kept)."""
    X = pooled.X.loc[pooled.labels["label"].notna().to_numpy()]
    if len(X) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False))
        X = X.iloc[keep]
    return X.reset_index(drop=True).astype("float64")
