"""ParamWalkEnv follows the gymnasium API; the backtest reward penalises drawdown breaches."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from ml.datasets import load_sample
from ml.strategies import ParamSpec
from ml.tuner.env import BacktestObjective, ParamWalkEnv, RiskAdjustedReward

SPACE = {"fast": ParamSpec(5, 50, "int", 5), "slow": ParamSpec(20, 200, "int", 20)}


@pytest.fixture(scope="module")
def objective():
    return BacktestObjective(load_sample("GOOG"), "sma_crossover", reward=RiskAdjustedReward(max_drawdown=0.4))


@pytest.mark.parametrize("mode", ["discrete", "continuous"])
def test_gymnasium_api(objective, mode):
    env = ParamWalkEnv(objective, SPACE, action_mode=mode, max_steps=5, is_safe=objective.is_safe)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs) and {"params", "value", "safe", "best_params"} <= set(info)
    for _ in range(5):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs) and reward == info["value"] and not terminated
    assert truncated
    if info["best_params"] is not None:
        assert objective.is_safe(info["best_params"])


def test_reset_is_seeded(objective):
    env = ParamWalkEnv(objective, SPACE)
    assert env.reset(seed=1)[1]["params"] == env.reset(seed=1)[1]["params"]


def test_reward_is_sharpe_minus_drawdown_penalty_and_breaches_are_penalised():
    reward = RiskAdjustedReward(dd_penalty=2.0, max_drawdown=0.3, breach_penalty=10.0)
    assert reward({"sharpe": 1.0, "max_drawdown": 0.2}) == pytest.approx(0.6)
    assert reward({"sharpe": 1.0, "max_drawdown": 0.4}) == pytest.approx(1.0 - 0.8 - 10.0)
    assert not reward.is_safe({"sharpe": 3.0, "max_drawdown": 0.31})


def test_backtest_objective_values_and_invalid_params(objective):
    m = objective.metrics({"fast": 10, "slow": 40})
    assert objective({"fast": 10, "slow": 40}) == pytest.approx(objective.reward(m))
    assert objective.metrics({"fast": 40, "slow": 40}) is None
    assert objective({"fast": 40, "slow": 40}) < -10
    batch = objective.metrics_many([{"fast": 5, "slow": 20}, {"fast": 10, "slow": 40}])
    assert batch[1] == m and np.isfinite(batch[0]["sharpe"])


def test_unsafe_points_never_reported_best():
    space = {"x": ParamSpec(0, 10, "int", 1)}
    env = ParamWalkEnv(lambda p: float(p["x"]), space, max_steps=30, is_safe=lambda p: p["x"] <= 6)
    env.reset(seed=0, options={"start": [0]})
    for _ in range(30):
        *_, info = env.step(1)  # keep moving up
    assert info["params"] == {"x": 10} and info["best_params"] == {"x": 6}


def test_pareto_front_is_non_dominated(objective):
    from ml.tuner.base import grid_points
    from ml.tuner.env import pareto_front

    points = grid_points(SPACE)
    front = pareto_front(objective, points)
    assert front and all(a["total_return"] < b["total_return"] for a, b in itertools.pairwise(front))
    valid = [m for m in objective.metrics_many(points) if m is not None]
    for f in front:
        assert not any(m["total_return"] > f["total_return"] and m["max_drawdown"] < f["max_drawdown"] for m in valid)
