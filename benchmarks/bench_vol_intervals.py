"""Regime-following volatility intervals vs today's split-conformal ones, on the selection parts only (issue 19).

Today every model's 90% interval is ``forecast * exp(q_lo), forecast * exp(q_hi)`` with ``q`` the conformal
quantiles of its log residuals ``ln RV - ln forecast``: a constant width in log space. Two ways to let the width
follow the regime are compared on the same out-of-sample forecasts:

* ``scaled``: normalised conformal residuals. The log residual's scale is modelled as
  ``exp(b . (state - mean))``, ``b`` by least squares of ``ln|e|`` on the state, and the conformal quantiles are
  taken of ``e / scale``;
* ``cqr``: conformalised linear quantile regression (Romano et al. 2019) of ``e`` on the state, fitted on the
  first two thirds of the calibration residuals and conformalised on the last third.

States (known at the forecast bar): ``logf`` the log forecast; ``lvov`` the log of the 22-bar std of the log
Parkinson variance (vol of vol); ``rec`` the log RMS of the model's own last resolved log errors (EWM, span 22).

Protocol: a walk-forward of each model inside the selection part of each bundled daily series (the lockbox
and its embargo cut off by ``ml.lockbox.Lockbox``; refit every 63 bars, last 40% forecast). Within those
out-of-sample forecasts, each block of ``--block`` bars gets intervals calibrated on every earlier resolved
residual (an expanding calibration set, a purge of the horizon). Nothing reads the lockbox.

Run: ``.venv/bin/python benchmarks/bench_vol_intervals.py [--models lhar_gk_ext garch_t har_gk_log]``
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ml.datasets import DAILY_SAMPLES, load_sample
from ml.lockbox import Lockbox
from ml.volatility.base import conformal_quantiles
from ml.volatility.evaluation import WalkForwardConfig, walk_forward_forecasts
from ml.volatility.registry import make_model
from ml.volatility.targets import realised_vol_target

HORIZON, COVERAGE = 5, 0.9
STATES = {"const": [], "logf": ["logf"], "lvov": ["lvov"], "rec": ["rec"], "all": ["logf", "lvov", "rec"]}


def conformal_hi(scores: np.ndarray, coverage: float) -> float:
    s = np.sort(scores)
    return float(s[min(int(np.ceil((len(s) + 1) * coverage)), len(s)) - 1])


def state_frame(bars: pd.DataFrame, fc: pd.DataFrame) -> pd.DataFrame:
    log_var = np.log(np.log(bars["high"] / bars["low"]) ** 2 + 1e-12)
    resolved = fc["e"].shift(HORIZON)  # the error of the forecast made h bars ago is known at t
    return pd.DataFrame({"logf": np.log(fc["forecast"]),
                         "lvov": np.log(log_var.rolling(22).std().reindex(fc.index)),
                         "rec": np.log(np.sqrt((resolved ** 2).ewm(span=22, min_periods=5).mean()))}, index=fc.index)


def intervals(method: str, cols: list[str], e_cal: pd.Series, x_cal: pd.DataFrame,
              x_blk: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Log-space ``(lo, hi)`` offsets for each bar of the block."""
    n_blk = len(x_blk)
    if not cols:
        lo, hi = conformal_quantiles(np.sort(e_cal.to_numpy()), COVERAGE)
        return np.full(n_blk, lo), np.full(n_blk, hi)
    mu = x_cal[cols].mean()
    xc, xb = (x_cal[cols] - mu).to_numpy(), (x_blk[cols].fillna(mu) - mu).to_numpy()
    if method == "scaled":
        design = np.column_stack([np.ones(len(xc)), xc])
        beta, *_ = np.linalg.lstsq(design, np.log(np.abs(e_cal.to_numpy()) + 1e-4), rcond=None)
        lo, hi = conformal_quantiles(np.sort(e_cal.to_numpy() / np.exp(xc @ beta[1:])), COVERAGE)
        scale = np.exp(xb @ beta[1:])
        return lo * scale, hi * scale
    from sklearn.linear_model import QuantileRegressor

    k = int(len(xc) * 2 / 3)
    alpha = (1.0 - COVERAGE) / 2
    fits = [QuantileRegressor(quantile=q, alpha=0.0, solver="highs").fit(xc[:k], e_cal.iloc[:k]) for q in (alpha, 1 - alpha)]
    e_con = e_cal.iloc[k:].to_numpy()
    margin = conformal_hi(np.maximum(fits[0].predict(xc[k:]) - e_con, e_con - fits[1].predict(xc[k:])), COVERAGE)
    return fits[0].predict(xb) - margin, fits[1].predict(xb) + margin


def evaluate(bars: pd.DataFrame, fc: pd.DataFrame, method: str, cols: list[str], block: int) -> tuple[float, float]:
    realised = realised_vol_target(bars, HORIZON).reindex(fc.index)
    states = state_frame(bars, fc)
    hits, widths = [], []
    for origin in range(252, len(fc), block):
        cal = slice(0, origin - HORIZON)
        ok = fc["e"].iloc[cal].notna() & states.iloc[cal][cols].notna().all(axis=1)
        lo, hi = intervals(method, cols, fc["e"].iloc[cal][ok], states.iloc[cal][ok], states.iloc[origin:origin + block])
        f = fc["forecast"].iloc[origin:origin + block].to_numpy()
        r = realised.iloc[origin:origin + block].to_numpy()
        lower, upper, live = f * np.exp(lo), f * np.exp(hi), ~np.isnan(r)
        hits += list(((r >= lower) & (r <= upper))[live])
        widths += list((upper - lower)[live])
    return float(np.mean(hits)), float(np.mean(widths))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["lhar_gk_ext", "garch_t", "har_gk_log"])
    parser.add_argument("--block", type=int, default=63)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    box, config = Lockbox(0.2, 10), WalkForwardConfig(horizon=HORIZON, refit_every=63, test_fraction=0.4)
    rows = []
    for symbol in DAILY_SAMPLES:
        bars = box.split_series({symbol: load_sample(symbol)})[0][symbol]
        for model in args.models:
            fc = walk_forward_forecasts(bars, make_model(model, horizon=HORIZON), config)
            fc["e"] = np.log(realised_vol_target(bars, HORIZON).reindex(fc.index)) - np.log(fc["forecast"])
            for method in ("scaled", "cqr"):
                for state, cols in STATES.items():
                    if method == "cqr" and not cols:
                        continue
                    cover, width = evaluate(bars, fc, method, cols, args.block)
                    rows.append({"symbol": symbol, "model": model, "method": "constant" if not cols else method,
                                 "state": state, "coverage": cover, "mean_width": width})
            print(f"{symbol} {model} done", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    base = table[table["state"] == "const"].set_index(["symbol", "model"])["mean_width"]
    table["width_vs_constant"] = [w / base[(s, m)] for s, m, w in zip(table["symbol"], table["model"], table["mean_width"])]
    pd.set_option("display.width", 200, "display.max_rows", 200)
    print(table.round(4).to_string(index=False))
    in_band = table[(table["coverage"] >= 0.87) & (table["coverage"] <= 0.93)]
    print("\nmedian width vs constant by method/state (all cells):")
    print(table[table["state"] != "const"].groupby(["method", "state"])["width_vs_constant"].median().round(3).to_string())
    print(f"\ncells in the 0.87-0.93 coverage band: {len(in_band)} of {len(table)}")


if __name__ == "__main__":
    main()
