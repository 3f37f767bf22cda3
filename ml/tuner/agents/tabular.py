"""Tabular Q-learning (Watkins 1989) over discretised moves in :class:`~ml.tuner.env.ParamWalkEnv`."""

from __future__ import annotations

import numpy as np

from ml.tuner.agents.normaliser import _Normaliser
from ml.tuner.base import Evaluator, Objective, Space, TuningResult, run_until_exhausted
from ml.tuner.env import ParamWalkEnv


def q_learning(objective: Objective, space: Space, budget: int, seed: int = 0, alpha: float = 0.5,
               gamma: float = 0.8, epsilon: float = 0.3, episode_len: int = 15, max_levels: int = 20) -> TuningResult:
    """Tabular epsilon-greedy Q-learning over level moves (state = grid cell, optimistic init)."""
    rng = np.random.default_rng(seed)
    evaluator = Evaluator(objective, space, budget)
    env = ParamWalkEnv(evaluator, space, max_levels=max_levels, max_steps=episode_len)
    n_actions = env.action_space.n
    q: dict[tuple, np.ndarray] = {}
    norm = _Normaliser()
    episode = [0]

    def table(state: tuple) -> np.ndarray:
        return q.setdefault(state, np.full(n_actions, 1.0 / (1 - gamma)))  # optimism drives exploration

    def step() -> None:
        env.reset(seed=seed + episode[0])
        episode[0] += 1
        eps = epsilon * 0.97 ** episode[0]
        done = False
        while not done:
            state = tuple(env.index)
            qs = table(state)
            action = int(rng.integers(n_actions)) if rng.random() < eps else int(
                rng.choice(np.flatnonzero(qs >= qs.max() - 1e-12)))
            _, value, _, done, _ = env.step(action)
            target = norm(value) + gamma * table(tuple(env.index)).max()
            qs[action] += alpha * (target - qs[action])

    return run_until_exhausted(step, evaluator, 50 * budget)
