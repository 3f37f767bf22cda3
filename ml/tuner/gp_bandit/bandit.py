"""The GP-UCB bandit itself: Latin-hypercube start, then the not-yet-pulled arm of highest upper confidence
bound (see :mod:`ml.tuner.gp_bandit`)."""

from __future__ import annotations

import numpy as np

from ml.tuner.base import Objective, Space, TuningResult
from ml.tuner.gp_bandit.arms import ucb_beta
from ml.tuner.gp_bandit.kernel import GaussianProcess, rank_warp
from ml.tuner.gp_bandit.state import ArmSearch


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
    s = ArmSearch(objective, space, budget, seed, n_init, max_arms, n_local)
    gp = GaussianProcess(s.d)

    def step() -> None:
        if s.pull_queued():
            return
        x, y = s.arms.unit(np.array(s.pulled)), rank_warp(np.array(s.values))
        if (len(s.values) - s.n_init) % refit_every == 0 or not hasattr(gp, "x_"):
            gp.fit_hyperparameters(x, y)
        gp.condition(x, y)
        candidates = s.candidates()
        mean, sd = gp.predict(s.arms.unit(candidates))
        beta = ucb_beta(s.arms.n, len(s.values) + 1, beta_scale, delta)
        score = mean + np.sqrt(beta) * sd + 1e-9 * s.rng.random(len(candidates))
        s.pull(candidates[int(np.argmax(score))])

    return s.run(step)
