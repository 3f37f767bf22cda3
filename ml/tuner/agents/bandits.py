"""Factorised multi-armed bandits over the discrete grid: one arm per level of each parameter; a pull picks
one level per parameter (UCB1, Auer et al. 2002; Gaussian Thompson sampling, Agrawal & Goyal 2013)."""

from __future__ import annotations

import numpy as np

from ml.tuner.base import Evaluator, Objective, Space, TuningResult, levels, run_until_exhausted


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
