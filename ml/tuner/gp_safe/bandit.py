"""The constrained GP-UCB bandit itself: the pulls, ``P(safe)``, the candidates and the acquisition (see
:mod:`ml.tuner.gp_safe`)."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm
from threadpoolctl import threadpool_limits

from ml.tuner.base import Evaluator, Objective, Space, TuningResult, run_until_exhausted
from ml.tuner.gp_bandit.arms import _Arms, ucb_beta
from ml.tuner.gp_bandit.kernel import rank_warp
from ml.tuner.gp_safe.constraint import Constraint, drawdown_margin, unpenalised_reward
from ml.tuner.gp_safe.model import _Model, _prob_below

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
    if isinstance(constraint, str):
        if constraint != "auto":
            raise ValueError(f"constraint must be a callable, None or 'auto', got {constraint!r}")
        constraint = drawdown_margin(objective)
    raw_value = unpenalised_reward(objective) if fit == "unpenalised" else None
    rng = np.random.default_rng(seed)
    evaluator = Evaluator(objective, space, budget)
    arms = _Arms(space)
    d = len(arms.sizes)
    n_init = max(10, 2 * d) if n_init is None else n_init
    every_arm = arms.all() if arms.n <= max_arms else None
    f_model, c_model, v_model = _Model(d, refit_every), _Model(d, refit_every), _Model(d, refit_every)
    pulled: list[np.ndarray] = []
    values: list[float] = []
    margins: list[float] = []  # nan = invalid parameter set
    fit_values: list[float] = []  # what the objective GP sees (nan = left out)
    tried: set[tuple] = set()
    queue = list(arms.latin_hypercube(rng, min(n_init, arms.n, budget)))

    def pull(idx: np.ndarray) -> None:
        tried.add(tuple(int(i) for i in idx))
        params = arms.params(idx)
        values.append(evaluator(params))
        pulled.append(np.asarray(idx, dtype=int))
        if constraint is None:
            margins.append(-1.0)
        else:
            m = constraint(params)
            margins.append(float(m) if m is not None and np.isfinite(m) else np.nan)
        if fit == "safe":
            fit_values.append(values[-1] if margins[-1] <= 0 else np.nan)
        else:
            v = values[-1] if raw_value is None else raw_value(params)
            fit_values.append(float(v) if v is not None and np.isfinite(v) and np.isfinite(margins[-1]) else np.nan)

    def prob_safe(x: np.ndarray, xs: np.ndarray) -> np.ndarray:
        if constraint is None:
            return np.ones(len(xs))
        c = np.array(margins)
        finite = np.isfinite(c)
        p = np.full(len(xs), 0.5)
        if finite.any():  # the margin GP sees valid sets only: an invalid one says nothing about drawdown
            loc, scale = c[finite].mean(), c[finite].std()
            scale = scale if scale > 1e-9 else 1.0
            p = _prob_below(c_model.update(x[finite], (c[finite] - loc) / scale), xs, (0.0 - loc) / scale)
        if not finite.all():  # P(valid) from a GP on +-1 labels, only once an invalid set was seen
            p = p * (1.0 - _prob_below(v_model.update(x, np.where(finite, 1.0, -1.0)), xs, 0.0))
        return p

    def candidates() -> np.ndarray:
        if every_arm is not None:
            cand = every_arm
        else:
            c = np.nan_to_num(np.array(margins), nan=1e6)  # best safe pulls, else the nearest to safe
            order = np.argsort(np.where(c <= 0, values, -1e15 - c))[::-1][:5]
            cand = np.unique(np.vstack([arms.random(rng, max_arms - n_local),
                                        arms.neighbours(rng, np.array(pulled)[order], n_local)]), axis=0)
        fresh = np.array([c not in tried for c in map(tuple, cand)])
        return cand[fresh] if fresh.any() else arms.random(rng, 1)

    def step() -> None:
        while queue:
            idx = queue.pop(0)
            if tuple(int(i) for i in idx) not in tried:
                return pull(idx)
        x = arms.unit(np.array(pulled))
        cand = candidates()
        xs = arms.unit(cand)
        p_safe = prob_safe(x, xs)
        jitter = 1e-9 * rng.random(len(cand))
        safe = np.array(margins) <= 0
        if not safe.any():  # start rule: no safe point known yet
            return pull(cand[int(np.argmax(p_safe + jitter))])
        use = np.isfinite(fit_values)
        y = rank_warp(np.array(fit_values)[use])
        y_best = y[safe[use]].max()  # best safe value on the warped scale
        mean, sd = f_model.update(x[use], y).predict(xs)
        beta = ucb_beta(arms.n, len(values) + 1, beta_scale, delta)
        ucb = mean + np.sqrt(beta) * sd
        if acquisition == "ucb":
            score = p_safe * (ucb - ucb.min())
        elif acquisition == "ei":
            z = (mean - y_best) / sd
            score = p_safe * ((mean - y_best) * norm.cdf(z) + sd * norm.pdf(z))
        else:
            ok = p_safe >= min_safe_prob
            score = np.where(ok, ucb - ucb.min(), -1.0) if ok.any() else p_safe
        pull(cand[int(np.argmax(score + jitter))])

    with threadpool_limits(1):  # small matrices: one BLAS thread is faster, and no oversubscription
        return run_until_exhausted(step, evaluator, min(budget, arms.n) * 3)
