"""Constrained GP-UCB: learns the drawdown apart from the reward, beats GP-UCB where most points are unsafe."""

from __future__ import annotations

import numpy as np
import pytest

from ml.strategies import ParamSpec
from ml.tuner import METHODS, RL_GP_SAFE, tune
from ml.tuner.base import grid_points
from ml.tuner.env import RiskAdjustedReward
from ml.tuner.gp_bandit import gp_bandit
from ml.tuner.gp_safe import drawdown_margin, gp_safe_bandit, unpenalised_reward

SPACE = {"x": ParamSpec(0.0, 1.0, "float", 0.05), "y": ParamSpec(0.0, 1.0, "float", 0.05)}  # 441 arms


class FakeBacktest:
    """A backtest-like objective: ``metrics`` (Sharpe, max drawdown) and a penalised ``reward``.

    The drawdown grows with the distance from (0.3, 0.3): only a disk of radius 0.2 (~12 % of the
    grid) meets the 50 % limit. The Sharpe ratio grows towards (1, 1), so the unpenalised reward
    keeps rising into the unsafe region and the safe optimum sits on the edge of the disk, with
    unsafe neighbours on its better side. ``x > 0.95`` is an invalid parameter set.
    """

    def __init__(self):
        self.reward = RiskAdjustedReward()  # Sharpe - 1.0 x drawdown; -10 more if drawdown > 50 %
        self.calls = 0

    def metrics(self, p: dict) -> dict | None:
        if p["x"] > 0.95:
            return None
        dd = 0.2 + 1.5 * np.hypot(p["x"] - 0.3, p["y"] - 0.3)
        return {"sharpe": 1.0 + 3.0 * p["x"] * p["y"], "max_drawdown": float(dd)}

    def __call__(self, p: dict) -> float:
        self.calls += 1
        m = self.metrics(p)
        return -20.0 if m is None else self.reward(m)


def _optimum(objective) -> float:
    return max(objective(p) for p in grid_points(SPACE))


def test_registered_and_helpers_read_the_backtest():
    assert METHODS[RL_GP_SAFE] is gp_safe_bandit
    obj = FakeBacktest()
    margin, raw = drawdown_margin(obj), unpenalised_reward(obj)
    p = {"x": 0.9, "y": 0.9}  # drawdown 0.2 + 1.5 * 0.85 > 0.5: unsafe, penalised by 10
    m = obj.metrics(p)
    assert margin(p) == pytest.approx(m["max_drawdown"] - 0.5) and margin({"x": 1.0, "y": 0.0}) is None
    assert raw(p) == pytest.approx(m["sharpe"] - m["max_drawdown"]) == pytest.approx(obj(p) + 10.0)
    assert drawdown_margin(lambda p: 0.0) is None and unpenalised_reward(lambda p: 0.0) is None


@pytest.mark.parametrize("fit", ["safe", "unpenalised"])
def test_finds_the_safe_optimum_faster_than_gp_ucb(fit):
    optimum = _optimum(FakeBacktest())
    safe, plain = [], []
    for seed in range(5):
        a = gp_safe_bandit(FakeBacktest(), SPACE, 150, seed, fit=fit)
        b = gp_bandit(FakeBacktest(), SPACE, 150, seed)
        safe.append(a.evaluations_to_reach(optimum - 1e-9) or np.inf)
        plain.append(b.evaluations_to_reach(optimum - 1e-9) or np.inf)
    assert np.median(safe) <= 40  # 9 % of the grid
    assert np.median(safe) < np.median(plain)


@pytest.mark.parametrize("acquisition", ["ucb", "ei", "threshold"])
def test_proposals_are_distinct_grid_points_and_mostly_safe(acquisition):
    obj = FakeBacktest()
    res = gp_safe_bandit(obj, SPACE, 60, seed=3, acquisition=acquisition)
    points = [tuple(p.values()) for p, _ in res.history]
    grid = {tuple(p.values()) for p in grid_points(SPACE)}
    assert res.n_evaluations == 60 == len(set(points)) == obj.calls and set(points) <= grid
    margin = drawdown_margin(obj)
    searching = [p for p, _ in res.history[10:40]]  # after the Latin-hypercube start
    share_safe = np.mean([margin(p) is not None and margin(p) <= 0 for p in searching])
    assert share_safe >= (0.25 if acquisition == "ei" else 0.5)  # the grid: 12 % safe


def test_every_point_unsafe_so_far_keeps_exploring():
    """No safe point exists: the start rule (max P(safe)) goes where the margin model is unsure."""
    res = gp_safe_bandit(lambda p: -p["x"] - 10.0, SPACE, 40, seed=0, constraint=lambda p: 0.2 + p["x"])
    later = np.array([[p["x"], p["y"]] for p, _ in res.history[10:]])
    assert res.n_evaluations == 40 and len({tuple(p.values()) for p, _ in res.history}) == 40
    assert later.std(axis=0).min() > 0.2  # spread over the grid, not stuck beside one pull
    assert res.best_value == max(v for _, v in res.history)


def test_invalid_points_only_then_safe_ones():
    """Margins of None (invalid sets) do not break the constraint model."""
    def constraint(p):
        return None if p["x"] > 0.5 else p["y"] - 0.5

    def reward(p):  # penalised like a backtest: -20 invalid, -10 unsafe
        c = constraint(p)
        return -20.0 if c is None else p["y"] - (10.0 if c > 0 else 0.0)

    res = gp_safe_bandit(reward, SPACE, 30, seed=1, constraint=constraint)
    assert res.n_evaluations == 30 and res.best_value == pytest.approx(0.5)


def test_without_constraint_it_is_gp_ucb_on_a_plain_function():
    space = {"x": ParamSpec(0.0, 1.0, "float", 0.025), "y": ParamSpec(0, 200, "int", 5)}

    def peak(p):
        return float(np.exp(-((p["x"] - 0.75) ** 2 + ((p["y"] - 40) / 200) ** 2) / 0.01))

    res = tune(peak, space, 60, seed=0, method=RL_GP_SAFE)
    assert res.n_evaluations == 60 and res.best_value >= 0.95


SMALL = {"a": ParamSpec(0, 4, "int", 1), "b": ParamSpec(0, 2, "int", 1)}  # 15 arms


def check_small_grid_and_bad_options(agent, **bad) -> None:
    """``agent`` pulls all 15 arms of ``SMALL`` (budget 50) and finds the best; each of ``bad`` is a ValueError."""
    res = agent(lambda p: -(p["a"] - 3) ** 2 - p["b"], SMALL, 50, seed=0, constraint=lambda p: p["b"] - 1)
    assert res.n_evaluations == 15 and res.best_params == {"a": 3, "b": 0}
    assert res.best_value == max(v for _, v in res.history)
    for name, value in bad.items():
        with pytest.raises(ValueError):
            agent(lambda p: 0.0, SMALL, 5, **{name: value})


def test_small_grid_is_exhausted_and_bad_options_rejected():
    check_small_grid_and_bad_options(gp_safe_bandit, acquisition="pi", fit="all", constraint="drawdown")
