"""The state every GP tuner starts from: the seeded generator, the budgeted evaluator, the grid as arms, the
Latin-hypercube start queue and the pulls so far, with the candidate arms of a step (used by
:func:`ml.tuner.gp_bandit.gp_bandit` and, through :class:`ml.tuner.gp_safe.state.SafeSearch`, by
:func:`ml.tuner.gp_safe.gp_safe_bandit` and :func:`ml.tuner.gp_trust.gp_trust_bandit`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from ml.tuner.base import Evaluator, Objective, Space, TuningResult, run_until_exhausted
from ml.tuner.gp_bandit.arms import _Arms


class ArmSearch:
    """The arms of ``space``, the pulls (``pulled`` level indices, ``values``, the ``tried`` set) and the start.

    ``n_init`` Latin-hypercube points (default ``max(10, 2 * d)``) are queued; grids up to ``max_arms`` arms
    are scored whole (``every_arm``), larger ones by a random subset plus ``n_local`` neighbours of the best
    pulls (:meth:`candidates`).
    """

    def __init__(self, objective: Objective, space: Space, budget: int, seed: int, n_init: int | None,
                 max_arms: int, n_local: int):
        self.budget, self.max_arms, self.n_local = budget, max_arms, n_local
        self.rng = np.random.default_rng(seed)
        self.evaluator = Evaluator(objective, space, budget)
        self.arms = _Arms(space)
        self.d = len(self.arms.sizes)
        self.n_init = max(10, 2 * self.d) if n_init is None else n_init
        self.every_arm = self.arms.all() if self.arms.n <= max_arms else None
        self.pulled: list[np.ndarray] = []
        self.values: list[float] = []
        self.tried: set[tuple] = set()
        self.queue = list(self.arms.latin_hypercube(self.rng, min(self.n_init, self.arms.n, budget)))

    def pull(self, idx: np.ndarray) -> dict:
        """Evaluate the arm ``idx``; returns its parameters."""
        self.tried.add(tuple(int(i) for i in idx))
        params = self.arms.params(idx)
        self.values.append(self.evaluator(params))
        self.pulled.append(np.asarray(idx, dtype=int))
        return params

    def pull_queued(self) -> bool:
        """Pull the next untried start point; False (nothing pulled) once the queue is empty."""
        while self.queue:
            idx = self.queue.pop(0)
            if tuple(int(i) for i in idx) not in self.tried:
                self.pull(idx)
                return True
        return False

    def rank(self) -> np.ndarray:
        """What the best pulls are by (their neighbours join the subset of a large grid): the values."""
        return np.asarray(self.values)

    def keep_valid(self, idx: np.ndarray) -> np.ndarray:
        """The arms of ``idx`` that may be pulled: all of them (no validity rule here)."""
        return idx

    def candidates(self) -> np.ndarray:
        """The untried arms to score: the whole grid, or (large grids) :meth:`keep_valid` of a random subset plus
        the neighbours of the 5 best pulls by :meth:`rank`; one random arm if none is untried."""
        if self.every_arm is not None:
            cand = self.every_arm
        else:
            order = np.argsort(self.rank())[::-1][:5]
            cand = self.keep_valid(np.unique(np.vstack([
                self.arms.random(self.rng, self.max_arms - self.n_local),
                self.arms.neighbours(self.rng, np.array(self.pulled)[order], self.n_local)]), axis=0))
        fresh = np.array([c not in self.tried for c in map(tuple, cand)])
        return cand[fresh] if fresh.any() else self.arms.random(self.rng, 1)

    def run(self, step: Callable[[], None]) -> TuningResult:
        """Call ``step`` until the budget is spent (at most 3 x the pulls possible), one BLAS thread."""
        with threadpool_limits(1):  # small matrices: one BLAS thread is faster, and no oversubscription
            return run_until_exhausted(step, self.evaluator, min(self.budget, self.arms.n) * 3)
