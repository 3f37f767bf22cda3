"""Policy-gradient tuners: REINFORCE (Williams 1992) with a Gaussian policy over the unit cube of continuous
parameters, and one-step actor-critic (Sutton & Barto 2018, sec. 13.5) walking the continuous
:class:`~ml.tuner.env.ParamWalkEnv`."""

from __future__ import annotations

import numpy as np

from ml.tuner.agents.normaliser import _Normaliser
from ml.tuner.base import Evaluator, Objective, Space, TuningResult, from_unit, run_until_exhausted
from ml.tuner.env import ParamWalkEnv


def reinforce(objective: Objective, space: Space, budget: int, seed: int = 0, batch: int = 6,
              lr_mean: float = 0.5, lr_sd: float = 0.2, init_sd: float = 0.3, restart_sd: float = 0.06, patience: int = 4) -> TuningResult:
    """REINFORCE with a diagonal Gaussian policy over the unit cube of parameters.

    Each iteration samples ``batch`` points, standardises their rewards (batch-mean baseline) and
    takes a natural-gradient step on the mean and the log standard deviation. When the policy has
    collapsed (every sd < ``restart_sd``) or not improved for ``patience`` iterations, it
    restarts from a random mean: policy gradient is a
    local method, restarts make it find the global peak of multi-modal surfaces.
    """
    rng = np.random.default_rng(seed)
    evaluator = Evaluator(objective, space, budget)
    d = len(space)
    mean, log_sd = rng.uniform(0.3, 0.7, d), np.full(d, np.log(init_sd))
    best, stale = [-np.inf], [0]  # best reward of the current run, iterations without improvement

    def step() -> None:
        nonlocal mean, log_sd
        sd = np.exp(log_sd)
        n_before = len(evaluator.history)
        xs = np.clip(mean + sd * rng.standard_normal((batch, d)), 0, 1)
        rewards = np.array([evaluator(from_unit(x, space)) for x in xs])
        adv = (rewards - rewards.mean()) / (rewards.std() + 1e-12)
        z = (xs - mean) / sd
        mean = np.clip(mean + lr_mean * sd * (adv[:, None] * z).mean(axis=0), 0, 1)
        log_sd = np.clip(log_sd + lr_sd * (adv[:, None] * (z**2 - 1)).mean(axis=0), np.log(0.02), np.log(0.5))
        stale[0] = 0 if rewards.max() > best[0] else stale[0] + 1
        best[0] = max(best[0], rewards.max())
        stalled = len(evaluator.history) == n_before or stale[0] >= patience
        if stalled or np.exp(log_sd).max() < restart_sd:  # converged: restart elsewhere (keeps the best)
            mean, log_sd = rng.uniform(0, 1, d), np.full(d, np.log(init_sd))
            stale[0], best[0] = 0, -np.inf

    return run_until_exhausted(step, evaluator, 50 * budget)


# ------------------------------------------------------------------------------ actor-critic


def _features(x: np.ndarray) -> np.ndarray:
    return np.concatenate([[1.0], x - 0.5, (x - 0.5) ** 2])


def actor_critic(objective: Objective, space: Space, budget: int, seed: int = 0, lr_actor: float = 0.2,
                 lr_critic: float = 0.3, gamma: float = 0.5, episode_len: int = 10, max_levels: int = 40,
                 init_sd: float = 0.5) -> TuningResult:
    """One-step actor-critic walking the continuous :class:`ParamWalkEnv`.

    Actor: move ~ N(tanh(Theta phi(s)), sd^2) with quadratic features phi of the current point;
    critic: V(s) = w . phi(s) learned by TD(0); both updated with the TD error
    delta = r + gamma V(s') - V(s). The exploration sd decays as the budget is spent.
    """
    rng = np.random.default_rng(seed)
    evaluator = Evaluator(objective, space, budget)
    env = ParamWalkEnv(evaluator, space, max_levels=max_levels, max_steps=episode_len, action_mode="continuous")
    d = len(space)
    theta, w = np.zeros((d, 2 * d + 1)), np.zeros(2 * d + 1)
    norm = _Normaliser()
    episode = [0]

    def step() -> None:
        obs, _ = env.reset(seed=seed + episode[0])
        episode[0] += 1
        sd = max(0.05, init_sd * (1 - len(evaluator.history) / max(budget, 1)))
        done = False
        while not done:
            phi = _features(obs)
            mu = np.tanh(theta @ phi)
            action = np.clip(mu + sd * rng.standard_normal(d), -1, 1)
            obs, value, _, done, _ = env.step(action)
            delta = norm(value) + gamma * (0.0 if done else w @ _features(obs)) - w @ phi
            w[:] += lr_critic * delta * phi
            theta[:] += lr_actor * delta * np.outer((action - mu) / sd**2 * (1 - mu**2), phi) * sd**2

    return run_until_exhausted(step, evaluator, 50 * budget)
