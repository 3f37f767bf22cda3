"""The GP-UCB bandit itself: Latin-hypercube start, then the not-yet-pulled arm of highest upper confidence
bound (see :mod:`ml.tuner.gp_bandit`)."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from ml.tuner.base import Evaluator, Objective, Space, TuningResult, run_until_exhausted
from ml.tuner.gp_bandit.arms import _Arms, ucb_beta
from ml.tuner.gp_bandit.kernel import GaussianProcess, rank_warp


def gp_bandit(objective: Objective, space: Space, budget: int, seed: int = 0, beta_scale: float = 0.2,
              delta: float = 0.1, n_init: int | None = None, refit_every: int = 5, max_arms: int = 3000,
              n_local: int = 600) -> TuningResult:
    """GP-UCB bandit over the grid of ``space`` (see the module docstring).

    Args:
        objective: Function to maximise.
        space: Search space; every grid point is an arm.
        budget: Distinct evaluations (pulls).
        seed: Seed of the initial Latin-hypercube pulls, arm subsets and tie-breaks.
        beta_scale: Multiplier of the theoretical GP-UCB exploration weight ``beta_t``.
        delta: Confidence parameter of ``beta_t``.
        n_init: Latin-hypercube pulls before the GP takes over (default ``max(10, 2 * d)``).
        refit_every: Pulls between hyperparameter refits.
        max_arms: Grids up to this size are scored whole; larger ones by a subset per pull.
        n_local: Arms near the best pulls added to the subset (large grids only).
    """
    rng = np.random.default_rng(seed)
    evaluator = Evaluator(objective, space, budget)
    arms = _Arms(space)
    d = len(arms.sizes)
    n_init = max(10, 2 * d) if n_init is None else n_init
    every_arm = arms.all() if arms.n <= max_arms else None
    gp = GaussianProcess(d)
    pulled: list[np.ndarray] = []
    values: list[float] = []
    tried: set[tuple] = set()
    queue = list(arms.latin_hypercube(rng, min(n_init, arms.n, budget)))

    def pull(idx: np.ndarray) -> None:
        tried.add(tuple(int(i) for i in idx))
        values.append(evaluator(arms.params(idx)))
        pulled.append(np.asarray(idx, dtype=int))

    def step() -> None:
        while queue:
            idx = queue.pop(0)
            if tuple(int(i) for i in idx) not in tried:
                return pull(idx)
        x, y = arms.unit(np.array(pulled)), rank_warp(np.array(values))
        if (len(values) - n_init) % refit_every == 0 or not hasattr(gp, "x_"):
            gp.fit_hyperparameters(x, y)
        gp.condition(x, y)
        if every_arm is not None:
            candidates = every_arm
        else:
            best = np.array(pulled)[np.argsort(values)[::-1][:5]]
            candidates = np.unique(np.vstack([arms.random(rng, max_arms - n_local),
                                              arms.neighbours(rng, best, n_local)]), axis=0)
        fresh = np.array([tuple(c) not in tried for c in map(tuple, candidates)])
        if not fresh.any():
            candidates, fresh = arms.random(rng, 1), np.ones(1, dtype=bool)
        candidates = candidates[fresh]
        mean, sd = gp.predict(arms.unit(candidates))
        beta = ucb_beta(arms.n, len(values) + 1, beta_scale, delta)
        score = mean + np.sqrt(beta) * sd + 1e-9 * rng.random(len(candidates))
        pull(candidates[int(np.argmax(score))])

    with threadpool_limits(1):  # small matrices: one BLAS thread is faster, and no oversubscription
        return run_until_exhausted(step, evaluator, min(budget, arms.n) * 3)
