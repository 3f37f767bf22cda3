"""Benchmark: sample efficiency of the tuners and out-of-sample value of tuning.

Part 1 -- evaluations needed to reach 95 % of the grid optimum. Objective: the risk-adjusted
reward (annualised Sharpe - 1.0 x max drawdown, 0.1 % commission) of SMA crossover on GOOG over
the 20 x 20 grid fast 5..100 step 5 x slow 10..200 step 10 (300 valid points; fast >= slow is
penalised). Each method gets a budget of 300 distinct evaluations; median over 5 seeds.

Part 2 -- four surfaces (same reward and commission, budget 300 distinct evaluations): SMA
crossover on GOOG and on SP500 (the grid above), Donchian breakout on NASDAQ (window 5..100/5 x
exit 2..50/2), RSI mean reversion on GOOG (period 2..50/4 x lower 10..45/5 x upper 55..90/5; most
of it breaches the 50 % drawdown limit). Median evaluations to 95 % of the grid optimum of Optuna
TPE, GP-UCB (``rl_gp_bandit``), the constrained GP-UCB (``rl_gp_safe``) and the trust-region constrained
GP-UCB (``rl_gp_trust``) over ``--seeds`` (default 5-14; the settings of ``rl_gp_safe`` and ``rl_gp_trust``
were chosen on seeds 0-4, and ``rl_gp_trust`` was first evaluated on 15-24). A run stops as soon as it
reaches the target (what comes after does not change the count). The table's "new/TPE" and "met" columns
compare ``rl_gp_trust`` (else ``rl_gp_safe``) with TPE.

Part 3 -- walk-forward (4 windows, train = 2 x test) on SP500, NASDAQ and GOOG: out-of-sample
Sharpe of default vs tuned SMA-crossover parameters, with the deflated Sharpe ratio and PBO.

Run: ``.venv/bin/python -m benchmarks.bench_tuner`` (a few minutes on 2 cores);
``--part surfaces --seeds 0-4 --safe-kwargs '{"acquisition": "ei"}'`` for one part, other seeds or
another setting of ``rl_gp_safe`` (``--trust-kwargs '{"mix": 0}'`` for ``rl_gp_trust``); ``--dev`` runs the
14 development surfaces instead (``DEV_SURFACES``).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from ml.backtest import BacktestConfig
from ml.datasets import load_sample
from ml.strategies import ParamSpec
from ml.tuner import GRID_SEARCH, METHODS, OPTUNA, RL_BANDIT, RL_GP_BANDIT, RL_GP_SAFE, RL_GP_TRUST, tune
from ml.tuner.base import BudgetExhausted, grid_points
from ml.tuner.env import BacktestObjective, RiskAdjustedReward
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
                  f"{rep.pbo:5.2f} {rep.recommended!s:>11s}  {rep.best_params}")


SURFACES = {  # name -> (data, strategy, grid)
    "SMA crossover / GOOG": ("GOOG", "sma_crossover", SPACE),
    "SMA crossover / SP500": ("SP500", "sma_crossover", SPACE),
    "Donchian / NASDAQ": ("NASDAQ", "donchian_breakout",
                          {"window": ParamSpec(5, 100, "int", 5), "exit_window": ParamSpec(2, 50, "int", 2)}),
    "RSI / GOOG": ("GOOG", "rsi_mean_reversion",
                   {"period": ParamSpec(2, 50, "int", 4), "lower": ParamSpec(10.0, 45.0, "float", 5.0),
                    "upper": ParamSpec(55.0, 90.0, "float", 5.0)}),
}
_GRIDS = {strategy: space for _, strategy, space in SURFACES.values()}
# The development surfaces the settings of rl_gp_trust were chosen on (seeds 0-4, with the four above):
# the other strategy/symbol pairs of the same grids, and six of them again with a 35 % drawdown limit.
# name -> (data, strategy, grid, drawdown limit)
DEV_SURFACES = {
    **{f"dev {strategy} / {symbol}": (symbol, strategy, _GRIDS[strategy], 0.5)
       for strategy, symbol in [("sma_crossover", "NASDAQ"), ("sma_crossover", "EURUSD"),
                                ("donchian_breakout", "SP500"), ("donchian_breakout", "GOOG"),
                                ("donchian_breakout", "EURUSD"), ("rsi_mean_reversion", "SP500"),
                                ("rsi_mean_reversion", "NASDAQ"), ("rsi_mean_reversion", "EURUSD")]},
    **{f"dd35 {strategy} / {symbol}": (symbol, strategy, _GRIDS[strategy], 0.35)
       for strategy, symbol in [("sma_crossover", "SP500"), ("sma_crossover", "NASDAQ"),
                                ("donchian_breakout", "GOOG"), ("rsi_mean_reversion", "SP500"),
                                ("rsi_mean_reversion", "NASDAQ"), ("rsi_mean_reversion", "GOOG")]},
}
SURFACE_METHODS = (OPTUNA, RL_GP_BANDIT, RL_GP_SAFE, RL_GP_TRUST)
SURFACE_BUDGET = 300


class StopAtTarget:
    """The objective, ending the run (``BudgetExhausted``) on the call after the first value >= ``target``.

    Attributes (``metrics``, ``reward``) are those of the wrapped objective, so a constrained agent
    still reads the drawdown.
    """

    def __init__(self, objective: BacktestObjective, target: float):
        self.objective, self.target, self.hit = objective, target, False

    def __call__(self, params: dict) -> float:
        if self.hit:
            raise BudgetExhausted
        value = self.objective(params)
        self.hit = value >= self.target
        return value

    def __getattr__(self, name):
        return getattr(self.objective, name)


def _median(counts: list[int | None]) -> float:
    return float(np.median([c if c is not None else np.inf for c in counts]))


def four_surfaces(seeds, methods=SURFACE_METHODS, safe_kwargs: dict | None = None,
                  surfaces: list[str] | None = None, trust_kwargs: dict | None = None) -> dict:
    """Median evaluations to 95 % of the grid optimum per surface and method; prints the table."""
    seeds = list(seeds)
    out = {}
    print(f"\nfour surfaces, budget {SURFACE_BUDGET}, seeds {seeds}, rl_gp_safe settings {safe_kwargs or {}}, "
          f"rl_gp_trust settings {trust_kwargs or {}}")
    for name in surfaces or SURFACES:
        symbol, strategy, space, limit = (*SURFACES[name], 0.5) if name in SURFACES else DEV_SURFACES[name]
        objective = BacktestObjective(load_sample(symbol), strategy, CONFIG, RiskAdjustedReward(max_drawdown=limit))
        points = grid_points(space)
        objective.metrics_many(points)  # one batch backtest of the whole grid
        optimum = max(objective(p) for p in points)
        target = optimum - 0.05 * abs(optimum)
        safe = np.mean([objective.is_safe(p) for p in points])
        row = {"arms": len(points), "optimum": optimum, "safe": safe}
        for method in methods:
            kwargs = {RL_GP_SAFE: safe_kwargs, RL_GP_TRUST: trust_kwargs}.get(method) or {}
            start, counts = time.perf_counter(), []
            for seed in seeds:
                result = tune(StopAtTarget(objective, target), space, SURFACE_BUDGET, seed, method=method, **kwargs)
                counts.append(result.evaluations_to_reach(target))
            row[method] = {"counts": counts, "median": _median(counts),
                           "reached": sum(c is not None for c in counts), "seconds": time.perf_counter() - start}
            print(f"  {name:22s} {method:14s} median {row[method]['median']:6.1f} "
                  f"reached {row[method]['reached']}/{len(seeds)}  {row[method]['seconds']:5.1f} s  "
                  f"{['-' if c is None else c for c in counts]}", flush=True)
        out[name] = row
    print(f"\n| surface | arms | safe | {' | '.join(f'{m} median (reached)' for m in methods)} | new/TPE | met |")
    print("|---|---:|---:|" + "---:|" * len(methods) + "---:|---|")
    for name, row in out.items():
        cells = " | ".join(f"{row[m]['median']:g} ({row[m]['reached']}/{len(seeds)})" for m in methods)
        ratio, met = "-", "-"
        new_method = RL_GP_TRUST if RL_GP_TRUST in row else RL_GP_SAFE
        if OPTUNA in row and new_method in row:
            new, tpe = row[new_method]["median"], row[OPTUNA]["median"]
            ratio = f"{new / tpe:.2f}" if np.isfinite(new) and np.isfinite(tpe) else "-"
            met = "yes" if new <= tpe else "no"
        print(f"| {name} | {row['arms']} | {100 * row['safe']:.0f} % | {cells} | {ratio} | {met} |")
    return out


def _seeds(text: str) -> list[int]:
    """``"5-14"`` or ``"0,3,4"`` -> seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return seeds


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("all", "single", "surfaces", "walk"), default="all")
    parser.add_argument("--seeds", type=_seeds, default=_seeds("5-14"), help="seeds of the four-surface part")
    parser.add_argument("--methods", default=",".join(SURFACE_METHODS), help="methods of the four-surface part")
    parser.add_argument("--surfaces", default=None, help="comma-separated surface names (default all four)")
    parser.add_argument("--dev", action="store_true", help="the development surfaces (DEV_SURFACES) instead")
    parser.add_argument("--safe-kwargs", type=json.loads, default=None, help="JSON settings of rl_gp_safe")
    parser.add_argument("--trust-kwargs", type=json.loads, default=None, help="JSON settings of rl_gp_trust")
    args = parser.parse_args()
    if args.part in ("all", "single"):
        sample_efficiency()
    if args.part in ("all", "surfaces"):
        four_surfaces(args.seeds, args.methods.split(","), args.safe_kwargs,
                      list(DEV_SURFACES) if args.dev else args.surfaces.split(",") if args.surfaces else None,
                      args.trust_kwargs)
    if args.part in ("all", "walk"):
        walk_forward()
