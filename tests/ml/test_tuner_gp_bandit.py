"""GP-UCB bandit: the GP is right (gradient, fit), the warp tames penalties, pulls are distinct and budgeted."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import check_grad

from ml.strategies import ParamSpec
from ml.tuner import METHODS, RL_GP_BANDIT, tune
from ml.tuner.base import grid_points
from ml.tuner.gp_bandit import GaussianProcess, gp_bandit, rank_warp

SPACE = {"x": ParamSpec(0.0, 1.0, "float", 0.025), "y": ParamSpec(0, 200, "int", 5)}  # 1,681 arms


def _sq(x: np.ndarray) -> np.ndarray:
    return (x.T[:, :, None] - x.T[:, None, :]) ** 2


def test_registered():
    assert METHODS[RL_GP_BANDIT] is gp_bandit


def test_marginal_likelihood_gradient_is_exact():
    rng = np.random.default_rng(0)
    x = rng.random((25, 3))
    y = np.sin(5 * x[:, 0]) + x[:, 1] ** 2 - x[:, 2]
    gp = GaussianProcess(3)
    theta = np.log([0.3, 0.6, 1.1, 0.8, 0.05])
    assert check_grad(lambda t: gp.nll(t, _sq(x), y)[0], lambda t: gp.nll(t, _sq(x), y)[1], theta) < 1e-4


def test_gp_interpolates_a_smooth_function_and_learns_relevance():
    rng = np.random.default_rng(1)
    x = rng.random((60, 2))
    f = lambda z: np.sin(6 * z[:, 0])
    y = f(x)
    gp = GaussianProcess(2)
    gp.fit_hyperparameters(x, y)
    gp.condition(x, y)
    xs = rng.random((200, 2))
    mean, sd = gp.predict(xs)
    assert np.max(np.abs(mean - f(xs))) < 0.1 and np.all(sd < 0.2)
    lengths = np.exp(gp.theta[:2])
    assert lengths[1] > 3 * lengths[0]  # ARD: the irrelevant input gets a long length scale


def test_rank_warp_ignores_penalty_magnitude():
    y = np.array([0.3, 0.1, -20.0, 0.5, -1e12])
    w = rank_warp(y)
    assert np.argsort(w).tolist() == np.argsort(y).tolist()
    assert abs(w.mean()) < 1e-12 and w.max() - w.min() < 3.0


def _peak(p: dict) -> float:
    """Narrow global peak at (0.75, 40) beside a broad local one; invalid corner penalised like a backtest."""
    if p["x"] < 0.1 and p["y"] > 150:
        return -20.0
    local = 0.6 * np.exp(-((p["x"] - 0.2) ** 2 + ((p["y"] - 160) / 200) ** 2) / 0.05)
    best = np.exp(-((p["x"] - 0.75) ** 2 + ((p["y"] - 40) / 200) ** 2) / 0.01)
    return float(max(local, best))


@pytest.mark.parametrize("seed", range(3))
def test_finds_narrow_peak_quickly_and_never_repeats(seed):
    res = gp_bandit(_peak, SPACE, 60, seed)  # 3.6 % of the grid
    assert res.n_evaluations == 60 and res.best_value >= 0.95
    points = [tuple(p.values()) for p, _ in res.history]
    assert len(set(points)) == len(points)


def test_large_grid_uses_arm_subsets():
    """18,900 arms > max_arms: scored on random + local subsets; still reaches the optimum region."""
    space = {"a": ParamSpec(1, 30, "int", 1), "b": ParamSpec(1, 30, "int", 1), "c": ParamSpec(0.0, 1.0, "float", 0.05)}

    def f(p):
        return -abs(p["a"] - 20) / 30 - abs(p["b"] - 5) / 30 - abs(p["c"] - 0.5)

    res = tune(f, space, 80, seed=0, method=RL_GP_BANDIT)
    assert res.n_evaluations == 80 and res.best_value >= -0.1


def test_small_grid_is_exhausted_without_error():
    space = {"a": ParamSpec(0, 4, "int", 1), "b": ParamSpec(0, 2, "int", 1)}  # 15 arms
    res = gp_bandit(lambda p: -(p["a"] - 3) ** 2 - p["b"], space, 50, seed=0)
    assert res.n_evaluations == 15 and res.best_params == {"a": 3, "b": 0}
    assert sorted(tuple(p.values()) for p, _ in res.history) == sorted(tuple(p.values()) for p in grid_points(space))
