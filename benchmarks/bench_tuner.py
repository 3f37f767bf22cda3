"""Benchmark: sample efficiency of the tuners and out-of-sample value of tuning.

Part 1 -- evaluations needed to reach 95 % of the grid optimum. Objective: the risk-adjusted
reward (annualised Sharpe - 1.0 x max drawdown, 0.1 % commission) of SMA crossover on GOOG over
the 20 x 20 grid fast 5..100 step 5 x slow 10..200 step 10 (300 valid points; fast >= slow is
penalised). Each method gets a budget of 300 distinct evaluations; median over 5 seeds.

Part 2 -- walk-forward (4 windows, train = 2 x test) on SP500, NASDAQ and GOOG: out-of-sample
Sharpe of default vs tuned SMA-crossover parameters, with the deflated Sharpe ratio and PBO.

Run: ``.venv/bin/python -m benchmarks.bench_tuner`` (a few minutes on 2 cores).
"""

from __future__ import annotations

import time

import numpy as np

from ml.backtest import BacktestConfig
from ml.datasets import load_sample
from ml.strategies import ParamSpec
from ml.tuner import GRID_SEARCH, METHODS, OPTUNA, RL_BANDIT, tune
from ml.tuner.base import grid_points
from ml.tuner.env import BacktestObjective
from ml.tuner.tuning import walk_forward_tune

SPACE = {"fast": ParamSpec(5, 100, "int", 5), "slow": ParamSpec(10, 200, "int", 10)}
CONFIG = BacktestConfig(commission=0.001)
SEEDS = range(5)


def sample_efficiency() -> None:
    objective = BacktestObjective(load_sample("GOOG"), "sma_crossover", CONFIG)
    valid = [p for p in grid_points(SPACE) if p["fast"] < p["slow"]]
    objective.metrics_many(valid)  # one batch backtest of the whole grid
    optimum = max(objective(p) for p in valid)
    target = 0.95 * optimum
    print(f"grid optimum reward {optimum:.3f} (valid points {len(valid)}); target = 95 % = {target:.3f}")
    print(f"{'method':22s} {'median evals to 95%':>20s} {'% of grid':>10s} {'reached (seeds)':>16s} {'seconds':>8s}")
    for method in METHODS:
        counts, start = [], time.perf_counter()
        for seed in SEEDS if method != GRID_SEARCH else [0]:
            result = tune(objective, SPACE, len(valid), seed, method=method)
            counts.append(result.evaluations_to_reach(target))
        reached = [c for c in counts if c is not None]
        med = float(np.median([c if c is not None else np.inf for c in counts]))
        print(f"{method:22s} {med:20.0f} {100 * med / len(valid):9.1f}% {len(reached):>10d}/{len(counts):<5d} "
              f"{time.perf_counter() - start:8.1f}")


def walk_forward(methods=(RL_BANDIT, OPTUNA), budget: int = 30) -> None:
    print(f"\nwalk-forward, 4 windows, budget {budget} per window, SMA crossover, space {SPACE}")
    print(f"{'data':7s} {'method':12s} {'default OOS SR':>14s} {'tuned OOS SR':>12s} {'improvement':>11s} "
          f"{'DSR':>5s} {'PBO':>5s} {'recommended':>11s}  last tuned")
    for symbol in ("SP500", "NASDAQ", "GOOG"):
        bars = load_sample(symbol)
        for method in methods:
            rep = walk_forward_tune(bars, "sma_crossover", method=method, budget=budget, n_windows=4, seed=0,
                                    space=SPACE, config=CONFIG)
            d, t = rep.windows["default_oos_sharpe"].mean(), rep.windows["tuned_oos_sharpe"].mean()
            rel = (t - d) / abs(d) if d else float("nan")
            print(f"{symbol:7s} {method:12s} {d:14.3f} {t:12.3f} {rel:10.0%} {rep.deflated_sharpe:5.2f} "
                  f"{rep.pbo:5.2f} {str(rep.recommended):>11s}  {rep.best_params}")


if __name__ == "__main__":
    sample_efficiency()
    walk_forward()
