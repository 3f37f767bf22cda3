"""The volatility training report, as pure functions: the walk-forward results of every candidate on every
series in one table, their QLIKE ratios to the GARCH-t and HAR baselines, the choice of the model to train
and the flat metrics logged to MLflow (and read by the promotion gates and by monitoring).
"""

from __future__ import annotations

import json

import pandas as pd

from ml.volatility.evaluation import WalkForwardResult, select_best
from ml.volatility.registry import DEFAULT_MODEL

GARCH = "garch_t"
HAR_VARIANTS = ("har_gk_log", "har_pk_log")
DEFAULT_CANDIDATES = ("ewma", GARCH, *HAR_VARIANTS, DEFAULT_MODEL)
PER_SYMBOL = ("qlike", "mse", "mae", "rmse", "dir_acc", "coverage", "width", "ratio_garch", "ratio_best_har")
MEANS = ("qlike", "mae", "rmse", "dir_acc", "coverage", "ratio_garch", "ratio_best_har")


def summary_table(per_symbol: dict[str, WalkForwardResult]) -> pd.DataFrame:
    """Out-of-sample results of every model on every series, indexed by (symbol, model)."""
    return pd.concat({symbol: wf.results for symbol, wf in per_symbol.items()}, names=["symbol", "model"])


def with_ratios(table: pd.DataFrame, candidates: list[str]) -> pd.DataFrame:
    """``table`` plus each model's QLIKE ratio to GARCH-t (``ratio_garch``) and to the best HAR variant
    (``ratio_best_har``), per symbol (a ratio is left out when its baseline was not evaluated)."""
    out = table.copy()
    hars = [h for h in HAR_VARIANTS if h in candidates]
    for symbol, group in table.groupby(level="symbol"):
        q = group["qlike"].droplevel("symbol")
        if GARCH in q:
            out.loc[symbol, "ratio_garch"] = (q / q[GARCH]).to_numpy()
        if hars:
            out.loc[symbol, "ratio_best_har"] = (q / q[hars].min()).to_numpy()
    return out


def choose_model(table: pd.DataFrame, coverage_band: tuple[float, float], model: str | None = None) -> str:
    """``model`` when given; else the lowest mean QLIKE among models whose intervals pass the coverage band,
    or, when none does, the lowest mean QLIKE of all (the registration gate then keeps it from champion)."""
    if model:
        return model
    mean = table.groupby(level="model").mean(numeric_only=True)
    return select_best(mean, metric="qlike", coverage_band=coverage_band,
                       default=str(mean["qlike"].astype("float64").idxmin()))


def flat_metrics(table: pd.DataFrame, chosen: str) -> dict[str, float]:
    """MLflow metrics of the chosen model: per series (``qlike_GOOG``...), means over the series
    (``qlike_mean``...) and the worst QLIKE ratio to GARCH-t (``qlike_ratio_garch_max``)."""
    rows = table.xs(chosen, level="model")
    metrics = {}
    for symbol, row in rows.iterrows():
        for col in PER_SYMBOL:
            if col in row and pd.notna(row[col]):
                metrics[f"{col}_{symbol}"] = float(row[col])
    for col in MEANS:
        if col in rows:
            metrics[f"{col}_mean"] = float(rows[col].mean())
    metrics["qlike_ratio_garch_max"] = float(rows["ratio_garch"].max()) if "ratio_garch" in rows else float("nan")
    return metrics


def settings_key(horizon: int, candidates: list[str] | None, model: str | None) -> str:
    """Identity of the training settings (tag ``settings``; with the data digest it decides whether an
    unforced pipeline has anything to retrain)."""
    return json.dumps({"horizon": horizon, "candidates": sorted(candidates or DEFAULT_CANDIDATES), "model": model})


def data_ranges(bars: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    """First and last bar of every series (tag ``data_ranges``: the drift reference of monitoring)."""
    return {s: [str(b.index[0]), str(b.index[-1])] for s, b in bars.items()}
