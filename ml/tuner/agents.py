"""Reinforcement-learning tuners, each small, seeded and reproducible.

* :func:`ucb_bandit` / :func:`thompson_bandit` -- a factorised multi-armed bandit over the
  discrete grid: one arm per level of each parameter; a pull picks one level per parameter
  (UCB1, Auer et al. 2002; Gaussian Thompson sampling, Agrawal & Goyal 2013).
* :func:`q_learning` -- tabular Q-learning (Watkins 1989) over discretised moves in
  :class:`~ml.tuner.env.ParamWalkEnv`.
* :func:`reinforce` -- REINFORCE (Williams 1992) with a Gaussian policy over the unit cube of
  continuous parameters (batch-mean baseline, natural-gradient step).
* :func:`actor_critic` -- one-step actor-critic (Sutton & Barto 2018, sec. 13.5): a Gaussian
  move policy with a linear-in-features mean and a linear TD(0) critic, walking the continuous
  :class:`~ml.tuner.env.ParamWalkEnv`.

Rewards are min-max normalised over the values seen so far, so the learning rates do not depend
on the scale of the objective.
"""

from __future__ import annotations

import numpy as np

from ml.tuner.base import Evaluator, Objective, Space, TuningResult, from_unit, levels, run_until_exhausted
from ml.tuner.env import ParamWalkEnv


class _Normaliser:
    """Min-max scaling of rewards by the values seen so far."""

    def __init__(self):
        self.lo, self.hi = np.inf, -np.inf

    def __call__(self, value: float) -> float:
        self.lo, self.hi = min(self.lo, value), max(self.hi, value)
        return (value - self.lo) / (self.hi - self.lo) if self.hi > self.lo else 0.5


# ----------------------------------------------------------------------------------- bandits


def _bandit(objective: Objective, space: Space, budget: int, seed: int, score_fn, max_levels: int) -> TuningResult:
    """Factorised bandit: a joint pull's score is the sum of its levels' arm scores.

    The pull is the best-scoring grid point not evaluated yet, so every pull is informative
    (a deterministic objective gives nothing new on a repeated point).
    """
    rng = np.random.default_rng(seed)
    evaluator = Evaluator(objective, space, budget)
    axes = [levels(spec, max_levels) for spec in space.values()]
    shape = tuple(len(axis) for axis in axes)
    tried = np.zeros(shape, dtype=bool)
    pulls: list[list[list[float]]] = [[[] for _ in axis] for axis in axes]  # raw rewards per arm
    seen: list[float] = []

    def step() -> None:
        lo, hi = (min(seen), max(seen)) if seen else (0.0, 1.0)
        scale = (hi - lo) or 1.0
        total = np.zeros(shape)
        for dim, arms in enumerate(pulls):
            scores = score_fn(rng, [(np.array(r) - lo) / scale for r in arms], len(seen) + 1)
            total += np.expand_dims(scores, [i for i in range(len(shape)) if i != dim])
        total = np.where(tried, -np.inf, total + 1e-9 * rng.random(shape))  # random tie-break
        choice = np.unravel_index(int(np.argmax(total)), shape)
        tried[choice] = True
        value = evaluator({name: axis[c].item() for name, axis, c in zip(space, axes, choice)})
        seen.append(value)
        for arms, c in zip(pulls, choice):
            arms[c].append(value)

    return run_until_exhausted(step, evaluator, min(budget, int(np.prod(shape))))


def _ucb_scores(c: float):
    def scores(rng, arms, t) -> np.ndarray:
        n = np.array([len(r) for r in arms], dtype=float)
        means = np.array([r.mean() if len(r) else 1.0 for r in arms])
        return means + c * np.sqrt(2 * np.log(t) / np.maximum(n, 1)) + np.where(n == 0, 1e6, 0.0)
    return scores


def _thompson_scores(prior_sd: float):
    def scores(rng, arms, t) -> np.ndarray:
        n = np.array([len(r) for r in arms], dtype=float)
        means = np.array([r.mean() if len(r) else 0.5 for r in arms])
        return means + rng.standard_normal(len(arms)) * prior_sd / np.sqrt(n + 1)
    return scores


def ucb_bandit(objective: Objective, space: Space, budget: int, seed: int = 0, c: float = 0.5,
               max_levels: int = 20) -> TuningResult:
    """UCB1 factorised bandit: arm score = mean normalised reward + c * sqrt(2 ln t / n)."""
    return _bandit(objective, space, budget, seed, _ucb_scores(c), max_levels)


def thompson_bandit(objective: Objective, space: Space, budget: int, seed: int = 0, prior_sd: float = 0.5,
                    max_levels: int = 20) -> TuningResult:
    """Gaussian Thompson-sampling factorised bandit (posterior sd = prior_sd / sqrt(n + 1))."""
    return _bandit(objective, space, budget, seed, _thompson_scores(prior_sd), max_levels)


# -------------------------------------------------------------------------------- Q-learning


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


# --------------------------------------------------------------------------- policy gradient


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
