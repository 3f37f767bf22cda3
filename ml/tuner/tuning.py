"""Walk-forward tuning: tune on a training window, judge on the untouched window after it.

For each of ``n_windows`` rolling windows (train = ``train_multiple`` x test length, the test
window right after it) the chosen method tunes the strategy on the training bars only; default
and tuned parameters are then backtested on the later test bars (indicators may warm up on
earlier bars, trades only happen inside the window). Each window also reports the deflated
Sharpe ratio of the tuned in-sample result for the number of trials, and the PBO (CSCV) of all
trials. ``recommended`` is True only if the tuned parameters beat the defaults out of sample on
average and never breach the drawdown constraint out of sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.backtest import BacktestConfig, backtest_batch, evaluate_param_sets
from ml.strategies import get_strategy_class
from ml.tuner import OPTUNA, tune
from ml.tuner.base import Space
from ml.tuner.env import BacktestObjective, RiskAdjustedReward
from ml.tuner.overfitting import deflated_sharpe_ratio, pbo_cscv, sharpe_per_period


@dataclass
class WalkForwardReport:
    """Outcome of :func:`walk_forward_tune`.

    Attributes:
        windows: One row per window: bounds, in-/out-of-sample Sharpe of default and tuned
            parameters, tuned out-of-sample max drawdown, tuned params, DSR, PBO, evaluations and
            ``rewards`` (the in-sample reward of every evaluation, in order: the convergence trace).
        deflated_sharpe: Mean DSR over windows.
        pbo: Mean PBO over windows.
        oos_improvement: Mean tuned minus mean default out-of-sample Sharpe.
        recommended: Whether to use ``best_params`` instead of the defaults.
        best_params: Parameters tuned on the most recent window.
        default_params: The strategy's defaults.
    """

    windows: pd.DataFrame
    deflated_sharpe: float
    pbo: float
    oos_improvement: float
    recommended: bool
    best_params: dict
    default_params: dict


def window_bounds(n_bars: int, n_windows: int, train_multiple: int = 2) -> list[tuple[int, int, int]]:
    """``(train_start, train_end = test_start, test_end)`` of rolling walk-forward windows."""
    length = n_bars // (n_windows + train_multiple)
    return [(i * length, (i + train_multiple) * length, (i + train_multiple + 1) * length) for i in range(n_windows)]


def _returns(bars: pd.DataFrame, cls, param_sets: list[dict], config: BacktestConfig, start: int, end: int):
    equity = backtest_batch(bars.iloc[:end], cls.positions_batch(bars.iloc[:end], param_sets), config, start).equity
    return equity[1:] / equity[:-1] - 1.0


def _selection_stats(objective: BacktestObjective, history: list, tuned: dict, config, start: int, end: int):
    """DSR of the tuned in-sample returns for all trials, and PBO of the trials (CSCV)."""
    trials = [p for p, _ in history if objective.metrics(p) is not None]
    if len(trials) < 2:
        return float("nan"), float("nan")
    rets = _returns(objective.bars, objective.strategy, trials + [tuned], config, start, end)
    trial_sr = sharpe_per_period(rets[:, :-1])
    dsr = deflated_sharpe_ratio(rets[:, -1], len(trials), float(np.var(trial_sr, ddof=1)))
    return dsr, pbo_cscv(rets[:, :-1], n_splits=8).pbo


def _evaluate_window(bars, cls, space, method, budget, seed, config, reward, bounds, method_kwargs) -> dict:
    start, mid, end = bounds
    objective = BacktestObjective(bars, cls, config, reward, start=start, end=mid)
    result = tune(objective, space, budget, seed, method=method, **method_kwargs)
    default, tuned = cls().params(), result.best_params
    is_default, is_tuned = objective.metrics(default), objective.metrics(tuned)
    oos = evaluate_param_sets(bars.iloc[:end], cls, [default, tuned], config, start=mid)
    dsr, pbo = _selection_stats(objective, result.history, tuned, config, start, mid)
    return {
        "train_start": bars.index[start], "test_start": bars.index[mid], "test_end": bars.index[end - 1],
        "default_is_sharpe": is_default["sharpe"], "tuned_is_sharpe": is_tuned["sharpe"],
        "default_oos_sharpe": oos.loc[0, "sharpe"], "tuned_oos_sharpe": oos.loc[1, "sharpe"],
        "tuned_oos_max_drawdown": oos.loc[1, "max_drawdown"],
        "tuned_oos_safe": bool(reward.is_safe(oos.loc[1].to_dict())),
        "tuned_params": tuned, "dsr": dsr, "pbo": pbo, "n_evaluations": result.n_evaluations,
        "rewards": [value for _, value in result.history],
    }


def walk_forward_tune(bars: pd.DataFrame, strategy_name: str, method: str = OPTUNA, budget: int = 60,
                      n_windows: int = 4, seed: int = 0, space: Space | None = None,
                      config: BacktestConfig | None = None, reward: RiskAdjustedReward | None = None,
                      train_multiple: int = 2, **method_kwargs) -> WalkForwardReport:
    """Tune ``strategy_name`` walk-forward and judge the tuned parameters out of sample.

    Args:
        bars: Bars frame.
        strategy_name: A key of :data:`ml.strategies.STRATEGIES`.
        method: A key of :data:`ml.tuner.METHODS`.
        budget: Distinct evaluations per window.
        n_windows: Number of train/test windows.
        seed: Seed (window ``i`` uses ``seed + i``).
        space: Search space; the strategy's ``param_space()`` by default.
        config: Backtest costs (default: 0.1 % commission, fractional units).
        reward: Reward/constraint (Sharpe minus drawdown penalty, max-drawdown constraint).
        train_multiple: Training window length in test-window lengths.
        **method_kwargs: Passed to the tuning method (e.g. ``storage`` for Optuna).
    """
    cls = get_strategy_class(strategy_name)
    space = space or cls.param_space()
    config = config or BacktestConfig(commission=0.001)
    reward = reward or RiskAdjustedReward()
    rows = [_evaluate_window(bars, cls, space, method, budget, seed + i, config, reward, bounds, method_kwargs)
            for i, bounds in enumerate(window_bounds(len(bars), n_windows, train_multiple))]
    windows = pd.DataFrame(rows)
    improvement = float(windows["tuned_oos_sharpe"].mean() - windows["default_oos_sharpe"].mean())
    recommended = bool(improvement > 0 and windows["tuned_oos_safe"].all())
    return WalkForwardReport(windows, float(windows["dsr"].mean()), float(windows["pbo"].mean()), improvement,
                             recommended, dict(windows["tuned_params"].iloc[-1]), cls().params())
