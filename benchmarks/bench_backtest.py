"""Benchmark: SMA-crossover grid backtests per second, ml.backtest vs backtesting.py.

Grid: fast 5..100 step 5 x slow 10..200 step 10 (20 x 20), skipping fast >= slow in both
(the same 300 valid pairs). Data: ``backtesting.test.GOOG`` (2,148 daily bars). Costs:
cash 10,000, commission 0.2 % per fill, next-bar-open fills, all-in whole-unit sizing.
Objective for "best parameters": final equity (both libraries compute it identically).

Run: ``.venv/bin/python -m benchmarks.bench_backtest`` (about 15-30 s on 2 cores).
"""

from __future__ import annotations

import time
import warnings

import backtesting.backtesting as bt_module
import numpy as np
from backtesting import Backtest
from backtesting.test import GOOG

from ml.backtest import BacktestConfig, evaluate_param_sets
from ml.backtesting_reference import SmaCross
from ml.datasets import normalise_bars

FAST = range(5, 101, 5)
SLOW = range(10, 201, 10)


def run_baseline() -> tuple[float, dict, float, int]:
    """``Backtest.optimize`` over the grid; returns (seconds, best params, best equity, n runs).

    tqdm progress bars are switched off (they only add overhead and noise to the baseline).
    ``optimize`` runs its grid in a process pool over all cores (2 here); ours is one process.
    """
    bt_module._tqdm = lambda seq, **_: seq
    bt = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        stats, heatmap = bt.optimize(n1=FAST, n2=SLOW, constraint=lambda p: p.n1 < p.n2,
                                     maximize="Equity Final [$]", return_heatmap=True)
        seconds = time.perf_counter() - start
    best = {"fast": int(stats._strategy.n1), "slow": int(stats._strategy.n2)}
    return seconds, best, float(stats["Equity Final [$]"]), int(heatmap.notna().sum())


def run_ours(integer_units: bool, repeats: int = 5) -> tuple[float, dict, float, int]:
    """Our batch backtester over the same grid; median seconds of ``repeats`` runs."""
    bars = normalise_bars(GOOG)
    sets = [{"fast": f, "slow": s} for f in FAST for s in SLOW if f < s]
    cfg = BacktestConfig(cash=10_000, commission=0.002, integer_units=integer_units)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        table = evaluate_param_sets(bars, "sma_crossover", sets, cfg)
        times.append(time.perf_counter() - start)
    best = table.loc[int(np.argmax(table["final_equity"].to_numpy()))]
    return float(np.median(times)), {"fast": int(best.fast), "slow": int(best.slow)}, float(best.final_equity), len(sets)


def main() -> None:
    base_s, base_best, base_eq, n_base = run_baseline()
    rows = [("backtesting.py Backtest.optimize", base_s, n_base, base_best, base_eq)]
    for label, units in (("ml.backtest (whole units, exact mode)", True), ("ml.backtest (fractional mode)", False)):
        s, best, eq, n = run_ours(units)
        rows.append((label, s, n, best, eq))
    print(f"{'engine':40s} {'runs':>5s} {'seconds':>9s} {'backtests/s':>12s} {'speed-up':>9s}  best params (final equity)")
    for label, s, n, best, eq in rows:
        print(f"{label:40s} {n:5d} {s:9.4f} {n / s:12.0f} {base_s / s * n / n_base:8.0f}x  "
              f"fast={best['fast']} slow={best['slow']} ({eq:,.2f})")
    print(f"identical best params (exact mode vs backtesting.py): {rows[1][3] == base_best}; "
          f"identical best final equity: {abs(rows[1][4] - base_eq) <= 1e-6 * abs(base_eq)}")


if __name__ == "__main__":
    main()
