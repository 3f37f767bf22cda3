"""The trust-region constrained GP-UCB bandit itself: the pulls, the three kinds of step (global constrained
GP-UCB, plain GP-UCB on the penalised values, local constrained GP-UCB near the best safe pulls), see
:mod:`ml.tuner.gp_trust`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ml.tuner.base import Objective, Space, TuningResult
from ml.tuner.gp_bandit.arms import ucb_beta
from ml.tuner.gp_bandit.kernel import rank_warp
from ml.tuner.gp_safe.constraint import Constraint, resolve_rules
from ml.tuner.gp_safe.model import _Model
from ml.tuner.gp_safe.state import SafeSearch


def gp_trust_bandit(objective: Objective, space: Space, budget: int, seed: int = 0,
                    constraint: Constraint | None | str = "auto", valid: Callable[[dict], bool] | None | str = None,
                    beta_scale: float = 0.1, delta: float = 0.1, local_every: int = 3, top_k: int = 3,
                    radius: int = 1, max_radius: int = 3, fail_tol: int | None = None, mix: int = 3,
                    mix_beta: float = 0.2, n_init: int | None = None, refit_every: int = 5, max_arms: int = 3000,
                    n_local: int = 600) -> TuningResult:
    """Constrained GP-UCB with a trust region and plain GP-UCB steps over the grid of ``space`` (see the module
    docstring of :mod:`ml.tuner.gp_trust`).

    Args:
        objective: Function to maximise.
        space: Search space; every grid point is an arm.
        budget: Distinct evaluations (pulls).
        seed: Seed of the initial Latin-hypercube pulls, arm subsets and tie-breaks.
        constraint: ``params -> float | None``, safe iff ``<= 0`` (None = invalid set); ``"auto"`` reads the
            drawdown margin from ``objective`` (:func:`ml.tuner.gp_safe.drawdown_margin`); None = no constraint.
        valid: ``params -> bool`` known before any evaluation (arms where it is False are never pulled);
            ``"auto"`` reads ``objective.strategy.is_valid``; None (default) = learnt from the pulls, as
            :func:`ml.tuner.gp_safe.gp_safe_bandit` does.
        beta_scale: Multiplier of GP-UCB's ``beta_t`` in the constrained steps (global and local).
        delta: Confidence parameter of ``beta_t``.
        local_every: Every ``local_every``-th step after the start is a local one (0 = never).
        top_k: Centres of the trust region: the ``top_k`` best safe pulls.
        radius: Half-width, in grid levels, of the box around each centre; grown up to ``max_radius`` while
            the box has no untried arm.
        max_radius: Largest half-width; beyond it the step is a global one.
        fail_tol: A centre whose local steps failed to improve the best value this many times is retired
            (None = never).
        mix: Every ``mix``-th global step is plain GP-UCB on the penalised values (0 = never).
        mix_beta: ``beta_scale`` of those plain GP-UCB steps (``gp_bandit``'s 0.2).
        n_init: Latin-hypercube pulls before the GPs take over (default ``max(10, 2 * d)``).
        refit_every: New observations between hyperparameter refits of each GP.
        max_arms: Grids up to this size are scored whole; larger ones by a subset per global step.
        n_local: Arms near the best safe pulls added to that subset (large grids only).
    """
    constraint, valid = resolve_rules(objective, constraint, valid)
    if local_every < 0 or mix < 0 or top_k < 1 or not 0 <= radius <= max_radius:
        raise ValueError("need local_every >= 0, mix >= 0, top_k >= 1 and 0 <= radius <= max_radius")
    s = SafeSearch(objective, space, budget, seed, constraint, "unpenalised", n_init, refit_every, max_arms, n_local,
                   valid)
    arms, d = s.arms, s.d
    p_model = _Model(d, refit_every)  # the plain GP-UCB steps' GP on the penalised values
    failures: dict[tuple, int] = {}
    state = {"steps": 0, "global": 0}

    def local_candidates(centres: np.ndarray) -> np.ndarray | None:
        """Untried (valid) arms in the boxes of half-width ``radius`` around ``centres``, grown while empty."""
        for r in range(radius, max_radius + 1):
            offsets = np.stack(np.meshgrid(*[np.arange(-r, r + 1)] * d, indexing="ij"), -1).reshape(-1, d)
            box = np.unique(np.clip((centres[:, None, :] + offsets[None]).reshape(-1, d), 0, arms.sizes - 1), axis=0)
            fresh = np.array([c not in s.tried for c in map(tuple, box)])
            if valid is not None:
                fresh &= np.array([bool(valid(arms.params(c))) for c in box])
            if fresh.any():
                return box[fresh]
        return None

    def step() -> None:
        if s.pull_queued():
            return
        x = arms.unit(np.array(s.pulled))
        safe = np.array(s.margins) <= 0
        state["steps"] += 1
        local, centres = None, []
        if safe.any() and local_every and state["steps"] % local_every == 0:
            centres = [int(i) for i in np.argsort(np.where(safe, s.values, -np.inf), kind="stable")[::-1]
                       if safe[i] and (fail_tol is None or failures.get(tuple(s.pulled[i]), 0) < fail_tol)][:top_k]
            if centres:
                local = local_candidates(np.array(s.pulled)[centres])
        cand = local if local is not None else s.candidates()
        jitter = 1e-9 * s.rng.random(len(cand))
        xs = arms.unit(cand)
        if local is None:
            state["global"] += 1
            if mix and state["global"] % mix == 0:  # plain GP-UCB on the penalised values (gp_bandit's step)
                mean, sd = p_model.update(x, rank_warp(np.array(s.values))).predict(xs)
                s.pull(cand[int(np.argmax(mean + np.sqrt(ucb_beta(arms.n, len(s.values) + 1, mix_beta, delta))
                                          * sd + jitter))])
                return
        p_safe = s.prob_safe(x, xs)
        if not safe.any():  # start rule: no safe point known yet
            s.pull(cand[int(np.argmax(p_safe + jitter))])
            return
        _, _, ucb = s.ucb(x, xs, beta_scale, delta)
        floor = 1e-6 if local is not None else 0.0  # a box can hold few arms: keep its lowest UCB in the race
        s.pull(cand[int(np.argmax(p_safe * (ucb - ucb.min() + floor) + jitter))])
        if local is not None and not s.improved:
            for i in centres:
                failures[tuple(s.pulled[i])] = failures.get(tuple(s.pulled[i]), 0) + 1

    return s.run(step)
