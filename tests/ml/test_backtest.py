"""Tests for ml.backtest, anchored on exact equivalence with backtesting.py's Backtest.run()."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from backtesting import Backtest
from backtesting.test import GOOG

from ml.backtest import (
    BacktestConfig,
    backtest_batch,
    backtest_strategy,
    equity_metrics,
    evaluate_param_sets,
    run_backtest,
)
from ml.backtesting_reference import SmaCross
from ml.datasets import normalise_bars
from ml.strategies import SMACrossover


@pytest.fixture(scope="module")
def goog() -> pd.DataFrame:
    return normalise_bars(GOOG)


COMPAT = BacktestConfig(cash=10_000, commission=0.002, integer_units=True)


@pytest.mark.parametrize("fast, slow", [(10, 20), (5, 30), (20, 60), (3, 7), (50, 100)])
def test_matches_backtesting_py_exactly(goog, fast, slow):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = Backtest(GOOG, SmaCross, cash=10_000, commission=0.002).run(n1=fast, n2=slow)
    ours = backtest_strategy(goog, SMACrossover(fast, slow), COMPAT)
    theirs = stats._trades
    assert ours.n_trades == len(theirs) == stats["# Trades"]
    np.testing.assert_array_equal(ours.trades["size"].to_numpy(), theirs["Size"].to_numpy())
    np.testing.assert_array_equal(ours.trades["entry_bar"].to_numpy(), theirs["EntryBar"].to_numpy())
    np.testing.assert_array_equal(ours.trades["exit_bar"].to_numpy(), theirs["ExitBar"].to_numpy())
    assert (ours.trades["entry_time"].to_numpy() == theirs["EntryTime"].to_numpy()).all()
    assert (ours.trades["exit_time"].to_numpy() == theirs["ExitTime"].to_numpy()).all()
    for col, their_col in [("entry_price", "EntryPrice"), ("exit_price", "ExitPrice"), ("pnl", "PnL"),
                           ("return", "ReturnPct")]:
        np.testing.assert_allclose(ours.trades[col].to_numpy(), theirs[their_col].to_numpy(), rtol=1e-6)
    assert ours.final_equity == pytest.approx(stats["Equity Final [$]"], rel=1e-6)
    np.testing.assert_allclose(ours.equity.to_numpy(), stats._equity_curve["Equity"].to_numpy(), rtol=1e-6)
    assert ours.max_drawdown == pytest.approx(-stats["Max. Drawdown [%]"] / 100, rel=1e-6)
    assert ours.win_rate == pytest.approx(stats["Win Rate [%]"] / 100, rel=1e-6)


def test_batch_matches_single_in_both_modes(goog):
    sets = [{"fast": f, "slow": s} for f in (5, 10, 25) for s in (30, 60)]
    for integer_units in (True, False):
        cfg = BacktestConfig(commission=0.001, slippage=0.0005, integer_units=integer_units)
        table = evaluate_param_sets(goog, "sma_crossover", sets, cfg)
        for j, params in enumerate(sets):
            single = backtest_strategy(goog, SMACrossover(**params), cfg)
            assert table.loc[j, "final_equity"] == pytest.approx(single.final_equity, rel=1e-12)
            assert table.loc[j, "n_trades"] == single.n_trades


def test_fractional_close_to_integer_units(goog):
    frac = backtest_strategy(goog, SMACrossover(10, 30), BacktestConfig(commission=0.002))
    units = backtest_strategy(goog, SMACrossover(10, 30), COMPAT)
    assert frac.n_trades == units.n_trades
    assert frac.total_return == pytest.approx(units.total_return, rel=0.05)


def bars_of(open_, close) -> pd.DataFrame:
    idx = pd.DatetimeIndex(pd.date_range("2021-01-01", periods=len(open_), freq="D"), name="ts")
    return pd.DataFrame({"open": open_, "high": np.maximum(open_, close), "low": np.minimum(open_, close),
                         "close": close, "volume": 1.0}, index=idx, dtype=float)


def test_hand_computed_long_then_short():
    bars = bars_of([10, 10, 12, 11, 9, 9], [10, 11, 12, 10, 9, 9])
    pos = np.array([1, 1, -1, -1, 0, 0])  # long filled at open[1]=10, flip at open[3]=11, flat at open[5]=9
    res = run_backtest(bars, pos, BacktestConfig(cash=100.0, commission=0.01, slippage=0.0))
    units = 100 / (10 * 1.01)
    cash = 100 - units * 10 * 0.01 + units * 1 - units * 11 * 0.01
    short = cash / (11 * 1.01)
    final = cash - short * 11 * 0.01 + short * 2 - short * 9 * 0.01
    assert res.n_trades == 2 and res.final_equity == pytest.approx(final, rel=1e-12)
    assert list(res.trades["size"]) == pytest.approx([units, -short])
    assert list(res.trades["exit_bar"]) == [3, 5]
    assert res.exposure == pytest.approx(4 / 6)
    assert res.win_rate == 1.0


def test_slippage_and_commission_cost_money():
    bars = bars_of(np.full(50, 10.0), np.full(50, 10.0))
    pos = np.tile([1, -1], 25)
    free = run_backtest(bars, pos)
    costly = run_backtest(bars, pos, BacktestConfig(commission=0.001, slippage=0.001))
    assert free.final_equity == pytest.approx(10_000)
    assert costly.final_equity < 10_000 * (1 - 0.003) ** 40


def test_last_bar_target_is_never_filled_and_start_window(goog):
    pos = np.zeros(len(goog))
    pos[-1] = 1
    assert run_backtest(goog, pos).n_trades == 0 and run_backtest(goog, pos).exposure == 0
    res = backtest_strategy(goog, SMACrossover(10, 30), start=1000)
    assert len(res.equity) == len(goog) - 1000 and (res.trades["entry_bar"] >= 1).all()


def test_equity_metrics_known_values():
    eq = np.array([100.0, 110.0, 99.0, 108.9])
    m = equity_metrics(eq, periods_per_year=1)
    rets = np.array([0.1, -0.1, 0.1])
    assert m["sharpe"][0] == pytest.approx(rets.mean() / rets.std(ddof=1))
    assert m["sortino"][0] == pytest.approx(rets.mean() / np.sqrt(0.01 / 3))
    assert m["max_drawdown"][0] == pytest.approx(0.1)
    assert m["total_return"][0] == pytest.approx(0.089)


def test_batch_shapes(goog):
    pos = np.column_stack([SMACrossover(5, 20).positions(goog), np.zeros(len(goog))])
    res = backtest_batch(goog, pos)
    assert res.equity.shape == (len(goog), 2) and len(res.metrics) == 2
    assert res.metrics.loc[1, "n_trades"] == 0 and res.metrics.loc[1, "final_equity"] == 10_000
    assert set(res.trades["set"]) == {0}
