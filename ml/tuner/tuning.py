"""Walk-forward tuning: tune on a training window, judge on the untouched window after it.

For each of ``n_windows`` rolling windows (train = ``train_multiple`` x test length, the test
window right after it) the chosen method tunes the strategy on the training bars only; default
and tuned parameters are then backtested on the later test bars (indicators may warm up on
earlier bars, trades only happen inside the window). Each window also reports the deflated
Sharpe ratio of the tuned in-sample result for the number of trials, and the PBO (CSCV) of all
trials. ``recommended`` weighs all of that evidence (:func:`verdict`, thresholds declared in
:class:`Evidence` before any result was seen): the tuned parameters must beat the defaults out of sample on
average, never breach the drawdown constraint out of sample, have a probability of backtest overfitting
below one half (PBO < 0.5: the in-sample winner is more likely than not above the median out of sample) and a
deflated Sharpe ratio above one half (DSR > 0.5: the selected Sharpe more likely than not beats what the best
of that many trials would reach by luck). ``reasons`` says which test failed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ml.backtest import BacktestConfig, backtest_batch, evaluate_param_sets
from ml.strategies import get_strategy_class
from ml.tuner import OPTUNA, tune
from ml.tuner.base import Space
from ml.tuner.env import BacktestObjective, RiskAdjustedReward, pareto_front
from ml.tuner.overfitting import deflated_sharpe_ratio, pbo_cscv, sharpe_per_period


@dataclass
class WalkForwardReport:
    """Outcome of :func:`walk_forward_tune`.

    Attributes:
        windows: One row per window: bounds, in-/out-of-sample Sharpe of default and tuned
            parameters, tuned out-of-sample max drawdown, tuned params, DSR, PBO, evaluations,
            ``rewards`` (the in-sample reward of every evaluation, in order: the convergence trace) and
            ``pareto_front`` (the window's in-sample non-dominated trials for max total return / min max drawdown,
            of which the tuned params are the risk-adjusted reward's pick).
        deflated_sharpe: Mean DSR over windows.
        pbo: Mean PBO over windows.
        oos_improvement: Mean tuned minus mean default out-of-sample Sharpe.
        recommended: Whether to use ``best_params`` instead of the defaults (:func:`verdict`).
        best_params: Parameters tuned on the most recent window.
        default_params: The strategy's defaults.
        reasons: Why it is not recommended (empty when it is).
    """

    windows: pd.DataFrame
    deflated_sharpe: float
    pbo: float
    oos_improvement: float
    recommended: bool
    best_params: dict
    default_params: dict
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Evidence:
    """The thresholds of :func:`verdict`, fixed a priori (the usual reading of each statistic, not fitted)."""

    max_pbo: float = 0.5
    min_dsr: float = 0.5


def verdict(oos_improvement: float, always_safe: bool, deflated_sharpe: float, pbo: float,
            evidence: Evidence = Evidence()) -> tuple[bool, list[str]]:
    """Whether tuned parameters are recommended over the defaults, and the reasons when not: a better mean
    out-of-sample Sharpe, the drawdown constraint never breached out of sample, PBO below ``max_pbo`` and DSR
    above ``min_dsr`` (an unavailable PBO or DSR, too few trials to compute it, is no evidence: not recommended)."""
    reasons = []
    if not oos_improvement > 0:
        reasons.append(f"out of sample the tuned Sharpe is not better than the defaults' ({oos_improvement:+.3f})")
    if not always_safe:
        reasons.append("the tuned parameters breached the drawdown constraint out of sample")
    if not pbo < evidence.max_pbo:
        reasons.append(f"probability of backtest overfitting {pbo:.2f} is not below {evidence.max_pbo:g}")
    if not deflated_sharpe > evidence.min_dsr:
        reasons.append(f"deflated Sharpe ratio {deflated_sharpe:.2f} is not above {evidence.min_dsr:g}")
    return not reasons, reasons


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
        "pareto_front": pareto_front(objective, [p for p, _ in result.history]),
    }


def walk_forward_tune(bars: pd.DataFrame, strategy_name: str, method: str = OPTUNA, budget: int = 60,
                      n_windows: int = 4, seed: int = 0, space: Space | None = None,
                      config: BacktestConfig | None = None, reward: RiskAdjustedReward | None = None,
                      train_multiple: int = 2, evidence: Evidence | None = None,
                      **method_kwargs) -> WalkForwardReport:
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
        evidence: The PBO / DSR a recommendation needs (default :class:`Evidence`).
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
    dsr, pbo = float(windows["dsr"].mean()), float(windows["pbo"].mean())
    recommended, reasons = verdict(improvement, bool(windows["tuned_oos_safe"].all()), dsr, pbo,
                                   evidence or Evidence())
    return WalkForwardReport(windows, dsr, pbo, improvement, recommended, dict(windows["tuned_params"].iloc[-1]),
                             cls().params(), reasons)
