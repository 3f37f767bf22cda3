"""Volatility benchmark: walk-forward QLIKE of every model on SP500, NASDAQ and GOOG daily bars.

Run: ``.venv/bin/python benchmarks/bench_volatility.py [--markdown out.md] [--jobs 2]``

Protocol: horizon 5, expanding window, refit every 21 bars, purge = horizon, test = last 40% of
each series; target ``RV_t^(5) = sqrt(mean(r_{t+1..t+5}^2))``. Reports per model x dataset QLIKE,
MSE, MAE, directional accuracy, 90%-interval coverage, the QLIKE ratio to GARCH-t and to the best
plain HAR variant, Diebold-Mariano tests of the promoted model vs every baseline, then fixed vs
vol-targeted sizing of a long-only and an SMA(200) trend strategy on the test window.
"""

from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.datasets import load_sample
from ml.risk import compare_sizing, rolling_target_vol, sma_trend_signal
from ml.volatility.evaluation import (
    WalkForwardConfig,
    WalkForwardResult,
    dm_tests,
    evaluate_models,
    first_test_index,
    qlike_ratios,
    select_best,
)
from ml.volatility.registry import make_model
from ml.volatility.targets import log_returns

DATASETS = ("SP500", "NASDAQ", "GOOG")
GARCH = "garch_t"
HAR_VARIANTS = ("har_cc", "har_cc_log", "har_pk", "har_pk_log", "har_gk", "har_gk_log")
MODELS = ("ewma", GARCH, *HAR_VARIANTS, "lhar_gk_qlike", "lhar_gk_ext", "lhar_rs_ext", "xgb", "ensemble")
COVERAGE_BAND = (0.87, 0.93)
CONFIG = WalkForwardConfig(horizon=5, refit_every=21, test_fraction=0.4, coverage=0.9)


def run_dataset(symbol: str) -> tuple[str, WalkForwardResult]:
    """Walk-forward every model on one bundled dataset."""
    bars = load_sample(symbol)
    return symbol, evaluate_models(bars, {m: make_model(m, CONFIG.horizon) for m in MODELS}, CONFIG)


def score_table(results: dict[str, WalkForwardResult]) -> pd.DataFrame:
    """Long table: one row per dataset x model with metrics and QLIKE ratios."""
    rows = []
    for symbol, wf in results.items():
        res = wf.results.copy()
        res["ratio_garch"] = qlike_ratios(res, GARCH)
        res["ratio_best_har"] = qlike_ratios(res, list(HAR_VARIANTS))
        rows.append(res.assign(dataset=symbol).rename_axis("model").reset_index())
    return pd.concat(rows, ignore_index=True)


def sizing_policies(bars: pd.DataFrame, forecast: pd.Series) -> dict[str, tuple[float | pd.Series, float]]:
    """Vol-targeting policies: name -> (target vol, max leverage). No policy looks at the test window.

    ``train_cap2``: target = per-bar vol of the training period, leverage <= 2 (declared first).
    ``roll_cap2``: target = median forecast of the last 252 bars (causal), leverage <= 2: the mean
    exposure stays near 1, so only the timing of risk differs from fixed sizing.
    ``roll_cap1``: the same target, never levered (de-risking only).
    """
    start = first_test_index(len(bars), CONFIG)
    train_vol = float(np.sqrt((log_returns(bars.iloc[:start]) ** 2).mean()))
    rolling = rolling_target_vol(forecast, window=252, min_periods=63)
    return {"train_cap2": (train_vol, 2.0), "roll_cap2": (rolling, 2.0), "roll_cap1": (rolling, 1.0)}


def sizing_table(symbol: str, wf: WalkForwardResult, model: str) -> pd.DataFrame:
    """Fixed vs vol-targeted sizing on the test window with the model's out-of-sample forecasts."""
    bars = load_sample(symbol)
    forecast = wf.forecasts.loc[wf.forecasts["model"] == model, "forecast"]
    close = bars["close"]
    rows = []
    for policy, (target, cap) in sizing_policies(bars, forecast).items():
        for name, signal in (("long_only", None), ("sma200_trend", sma_trend_signal(close, 200))):
            table = compare_sizing(close, forecast, target_vol=target, signal=signal, max_leverage=cap).table
            row = {"dataset": symbol, "strategy": name, "policy": policy}
            for sizing, tag in (("fixed", "fix"), ("vol_target", "vt")):
                for col in ("total_return", "sharpe", "max_drawdown"):
                    row[f"{col}_{tag}"] = table.loc[sizing, col]
            row["exposure_vt"] = table.loc["vol_target", "mean_exposure"]
            row["mdd_cut"] = 1.0 - row["max_drawdown_vt"] / row["max_drawdown_fix"]
            row["target_met"] = bool(row["mdd_cut"] >= 0.2 and row["sharpe_vt"] >= row["sharpe_fix"])
            rows.append(row)
    return pd.DataFrame(rows)


def print_table(title: str, frame: pd.DataFrame) -> None:
    """Print with rich when available, else plain text."""
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title)
        for col in frame.columns:
            table.add_column(str(col), justify="right")
        for row in frame.itertuples(index=False):
            table.add_row(*[f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v) for v in row])
        Console(width=200).print(table)
    except ImportError:  # pragma: no cover
        print(title)
        print(frame.to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2, help="datasets evaluated in parallel")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the tables as markdown")
    args = parser.parse_args()
    tic = time.perf_counter()
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs) as pool:
            results = dict(pool.map(run_dataset, DATASETS))
    else:
        results = dict(map(run_dataset, DATASETS))
    scores = score_table(results)
    mean = scores.groupby("model")[["qlike", "mse", "mae", "dir_acc", "coverage"]].mean()
    promoted = select_best(mean, metric="qlike", coverage_band=COVERAGE_BAND)
    cols = ["dataset", "model", "qlike", "mse", "mae", "dir_acc", "coverage", "width", "ratio_garch",
            "ratio_best_har", "seconds"]
    scores = scores[cols]
    print_table("Walk-forward volatility forecasts (h=5, refit 21, test = last 40%)", scores)
    dm = pd.concat(
        [dm_tests(wf.forecasts, promoted, CONFIG.horizon).assign(dataset=s) for s, wf in results.items()]
    ).rename_axis("baseline").reset_index()[["dataset", "baseline", "dm_stat", "pvalue", "mean_loss_diff"]]
    print_table(f"Diebold-Mariano (QLIKE loss, HAC) of promoted model '{promoted}' vs each model", dm)
    sizing = pd.concat([sizing_table(s, wf, promoted) for s, wf in results.items()], ignore_index=True)
    print_table(f"Fixed vs vol-targeted sizing with '{promoted}' forecasts (test window)", sizing)
    target = scores[scores["model"] == promoted][["dataset", "ratio_garch", "ratio_best_har", "coverage"]]
    print_table(f"Targets for promoted model '{promoted}' (<=0.90 GARCH-t, <=0.97 best HAR, cov 0.87-0.93)", target)
    elapsed = time.perf_counter() - tic
    print(f"total time {elapsed:.0f} s")
    if args.markdown:
        parts = [f"promoted: `{promoted}`; total time {elapsed:.0f} s", scores.to_markdown(index=False, floatfmt=".4g"),
                 dm.to_markdown(index=False, floatfmt=".3g"), sizing.to_markdown(index=False, floatfmt=".4g")]
        args.markdown.write_text("\n\n".join(parts) + "\n")


if __name__ == "__main__":
    main()
