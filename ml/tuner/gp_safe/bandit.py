"""The constrained GP-UCB bandit itself: the pulls, ``P(safe)``, the candidates and the acquisition (see
:mod:`ml.tuner.gp_safe`)."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from ml.tuner.base import Objective, Space, TuningResult
from ml.tuner.gp_safe.constraint import Constraint, resolve_rules
from ml.tuner.gp_safe.state import SafeSearch

ACQUISITIONS = ("ucb", "ei", "threshold")
FITS = ("safe", "unpenalised")


def gp_safe_bandit(objective: Objective, space: Space, budget: int, seed: int = 0,
                   constraint: Constraint | None | str = "auto", acquisition: str = "ucb", fit: str = "unpenalised",
                   beta_scale: float = 0.1, delta: float = 0.1, min_safe_prob: float = 0.5,
                   n_init: int | None = None, refit_every: int = 5, max_arms: int = 3000,
                   n_local: int = 600) -> TuningResult:
    """Constrained GP-UCB bandit over the grid of ``space`` (see the module docstring).

    Args:
        objective: Function to maximise.
        space: Search space; every grid point is an arm.
        budget: Distinct evaluations (pulls).
        seed: Seed of the initial Latin-hypercube pulls, arm subsets and tie-breaks.
        constraint: ``params -> float | None``, safe iff ``<= 0`` (None = invalid parameter set,
            unsafe); ``"auto"`` reads the drawdown margin from ``objective``
            (:func:`drawdown_margin`); None = no constraint.
        acquisition: ``"ucb"``, ``"ei"`` or ``"threshold"``.
        fit: Data of the objective GP: ``"safe"`` (the values of the safe pulls) or ``"unpenalised"``
            (:func:`unpenalised_reward` of every valid pull; the plain values if ``objective``
            does not expose it)
        beta_scale: Multiplier of the theoretical GP-UCB exploration weight ``beta_t`` (0.1, half
            of ``gp_bandit``'s: with the constraint modelled apart, less exploration is needed).
        delta: Confidence parameter of ``beta_t``.
        min_safe_prob: ``P(safe)`` a candidate needs under ``"threshold"``.
        n_init: Latin-hypercube pulls before the GPs take over (default ``max(10, 2 * d)``).
        refit_every: New observations between hyperparameter refits of each GP.
        max_arms: Grids up to this size are scored whole; larger ones by a subset per pull.
        n_local: Arms near the best safe pulls added to the subset (large grids only).
    """
    if acquisition not in ACQUISITIONS:
        raise ValueError(f"acquisition must be one of {ACQUISITIONS}, got {acquisition!r}")
    if fit not in FITS:
        raise ValueError(f"fit must be one of {FITS}, got {fit!r}")
    constraint, _ = resolve_rules(objective, constraint)
    s = SafeSearch(objective, space, budget, seed, constraint, fit, n_init, refit_every, max_arms, n_local)

    def step() -> None:
        if s.pull_queued():
            return
        x = s.arms.unit(np.array(s.pulled))
        cand = s.candidates()
        xs = s.arms.unit(cand)
        p_safe = s.prob_safe(x, xs)
        jitter = 1e-9 * s.rng.random(len(cand))
        safe = np.array(s.margins) <= 0
        if not safe.any():  # start rule: no safe point known yet
            s.pull(cand[int(np.argmax(p_safe + jitter))])
            return
        use, y = s.warped_fit_values()
        y_best = y[safe[use]].max()  # best safe value on the warped scale
        mean, sd, ucb = s.ucb(x, xs, beta_scale, delta)
        if acquisition == "ucb":
            score = p_safe * (ucb - ucb.min())
        elif acquisition == "ei":
            z = (mean - y_best) / sd
            score = p_safe * ((mean - y_best) * norm.cdf(z) + sd * norm.pdf(z))
        else:
            ok = p_safe >= min_safe_prob
            score = np.where(ok, ucb - ucb.min(), -1.0) if ok.any() else p_safe
        s.pull(cand[int(np.argmax(score + jitter))])

    return s.run(step)
