"""ml.tuner.report: out-of-sample replays agree with walk_forward_tune; summary and plots."""

from __future__ import annotations

import numpy as np
import pytest

from ml.backtest import BacktestConfig
from ml.datasets import load_sample
from ml.strategies import ParamSpec
from ml.tuner import RANDOM
from ml.tuner.report import convergence_figure, convergence_trace, equity_figure, oos_backtests, summarise
from ml.tuner.tuning import walk_forward_tune

SPACE = {"fast": ParamSpec(5, 50, "int", 5), "slow": ParamSpec(20, 200, "int", 20)}
CONFIG = BacktestConfig(commission=0.001)


@pytest.fixture(scope="module")
def run():
    bars = load_sample("GOOG")
    report = walk_forward_tune(bars, "sma_crossover", method=RANDOM, budget=10, n_windows=3, seed=0, space=SPACE,
                               config=CONFIG)
    return bars, report, oos_backtests(bars, "sma_crossover", report, CONFIG)


def test_replay_matches_walk_forward_oos_sharpe(run):
    _, report, replay = run
    for which in ("default", "tuned"):
        sharpe = replay.metrics[replay.metrics["which"] == which]["sharpe"].to_numpy()
        np.testing.assert_allclose(sharpe, report.windows[f"{which}_oos_sharpe"].to_numpy(), rtol=1e-9)


def test_equity_is_chained_over_consecutive_oos_windows(run):
    bars, report, replay = run
    eq = replay.equity
    assert eq.index.is_monotonic_increasing and eq.index.is_unique
    assert eq.index[0] == report.windows["test_start"].iloc[0] and eq.index[-1] == report.windows["test_end"].iloc[-1]
    assert list(np.unique(eq["window"])) == [0, 1, 2] and eq[["default", "tuned"]].iloc[0].tolist() == [1.0, 1.0]
    # chained: the compounded window returns give the final level
    totals = replay.metrics.pivot(index="window", columns="which", values="total_return")
    np.testing.assert_allclose(eq["tuned"].iloc[-1], np.prod(1 + totals["tuned"]), rtol=1e-9)
    assert eq.index[0] > bars.index[0]


def test_summary_is_consistent(run):
    _, report, replay = run
    summary = summarise(report, replay)
    assert summary["recommended"] == report.recommended and len(summary["windows"]) == 3
    assert summary["after"]["oos_sharpe"] == pytest.approx(report.windows["tuned_oos_sharpe"].mean())
    assert summary["before"]["is_sharpe"] == pytest.approx(report.windows["default_is_sharpe"].mean())
    w = summary["windows"][1]
    assert w["tuned_params"] == report.windows["tuned_params"].iloc[1] and w["n_evaluations"] == 10
    assert w["best_reward"] == pytest.approx(max(report.windows["rewards"].iloc[1]))
    assert w["out_of_sample"]["tuned"]["sharpe"] == pytest.approx(report.windows["tuned_oos_sharpe"].iloc[1])


def test_convergence_trace_and_figures(run, tmp_path):
    _, report, replay = run
    np.testing.assert_array_equal(convergence_trace([0.1, -1.0, 0.3, 0.2]), [0.1, 0.1, 0.3, 0.3])
    assert convergence_trace([]).size == 0
    equity_figure(replay.equity, "eq").savefig(tmp_path / "eq.png")
    convergence_figure(list(report.windows["rewards"]), "conv").savefig(tmp_path / "conv.png")
    assert (tmp_path / "eq.png").stat().st_size > 1000 and (tmp_path / "conv.png").stat().st_size > 1000
