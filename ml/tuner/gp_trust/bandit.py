"""The trust-region constrained GP-UCB bandit itself: the pulls, the three kinds of step (global constrained
GP-UCB, plain GP-UCB on the penalised values, local constrained GP-UCB near the best safe pulls), see
:mod:`ml.tuner.gp_trust`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from ml.tuner.base import Evaluator, Objective, Space, TuningResult, run_until_exhausted
from ml.tuner.gp_bandit.arms import _Arms, ucb_beta
from ml.tuner.gp_bandit.kernel import rank_warp
from ml.tuner.gp_safe.constraint import Constraint, drawdown_margin, unpenalised_reward
from ml.tuner.gp_safe.model import _Model, _prob_below


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
    if isinstance(constraint, str):
        if constraint != "auto":
            raise ValueError(f"constraint must be a callable, None or 'auto', got {constraint!r}")
        constraint = drawdown_margin(objective)
    if isinstance(valid, str):
        if valid != "auto":
            raise ValueError(f"valid must be a callable, None or 'auto', got {valid!r}")
        valid = getattr(getattr(objective, "strategy", None), "is_valid", None)
    if local_every < 0 or mix < 0 or top_k < 1 or not 0 <= radius <= max_radius:
        raise ValueError("need local_every >= 0, mix >= 0, top_k >= 1 and 0 <= radius <= max_radius")
    raw_value = unpenalised_reward(objective)
    rng = np.random.default_rng(seed)
    evaluator = Evaluator(objective, space, budget)
    arms = _Arms(space)
    d = len(arms.sizes)
    n_init = max(10, 2 * d) if n_init is None else n_init
    every_arm = arms.all() if arms.n <= max_arms else None

    def keep_valid(idx: np.ndarray) -> np.ndarray:
        if valid is None:
            return idx
        ok = np.array([bool(valid(arms.params(i))) for i in idx], dtype=bool)
        return idx[ok] if ok.any() else idx

    if every_arm is not None:
        every_arm = keep_valid(every_arm)
    f_model, c_model, v_model, p_model = (_Model(d, refit_every) for _ in range(4))
    pulled: list[np.ndarray] = []
    values: list[float] = []
    margins: list[float] = []  # nan = invalid parameter set
    fit_values: list[float] = []  # what the objective GP sees (nan = left out)
    tried: set[tuple] = set()
    failures: dict[tuple, int] = {}
    state = {"steps": 0, "global": 0, "improved": False}
    queue = list(arms.latin_hypercube(rng, min(n_init, arms.n, budget)))
    if valid is not None and every_arm is not None:  # an invalid start point -> the nearest valid arm
        ux, snapped = arms.unit(every_arm), []
        for q in queue:
            dist = ((ux - arms.unit(q[None])) ** 2).sum(1)
            taken = {tuple(s) for s in snapped}
            snapped.append(next(every_arm[j] for j in np.argsort(dist, kind="stable")
                                if tuple(every_arm[j]) not in taken))
        queue = snapped

    def pull(idx: np.ndarray) -> None:
        tried.add(tuple(int(i) for i in idx))
        params = arms.params(idx)
        before = max(values) if values else -np.inf
        values.append(evaluator(params))
        state["improved"] = values[-1] > before
        pulled.append(np.asarray(idx, dtype=int))
        if constraint is None:
            margins.append(-1.0)
        else:
            m = constraint(params)
            margins.append(float(m) if m is not None and np.isfinite(m) else np.nan)
        v = values[-1] if raw_value is None else raw_value(params)
        fit_values.append(float(v) if v is not None and np.isfinite(v) and np.isfinite(margins[-1]) else np.nan)

    def prob_safe(x: np.ndarray, xs: np.ndarray) -> np.ndarray:
        if constraint is None:
            return np.ones(len(xs))
        c = np.array(margins)
        finite = np.isfinite(c)
        p = np.full(len(xs), 0.5)
        if finite.any():  # the margin GP sees valid sets only
            loc, scale = c[finite].mean(), c[finite].std()
            scale = scale if scale > 1e-9 else 1.0
            p = _prob_below(c_model.update(x[finite], (c[finite] - loc) / scale), xs, (0.0 - loc) / scale)
        if not finite.all():  # P(valid) from a GP on +-1 labels, only once an invalid set was seen
            p = p * (1.0 - _prob_below(v_model.update(x, np.where(finite, 1.0, -1.0)), xs, 0.0))
        return p

    def global_candidates() -> np.ndarray:
        if every_arm is not None:
            cand = every_arm
        else:
            c = np.nan_to_num(np.array(margins), nan=1e6)  # best safe pulls, else the nearest to safe
            order = np.argsort(np.where(c <= 0, values, -1e15 - c))[::-1][:5]
            cand = keep_valid(np.unique(np.vstack([arms.random(rng, max_arms - n_local),
                                                   arms.neighbours(rng, np.array(pulled)[order], n_local)]), axis=0))
        fresh = np.array([c not in tried for c in map(tuple, cand)])
        return cand[fresh] if fresh.any() else arms.random(rng, 1)

    def local_candidates(centres: np.ndarray) -> np.ndarray | None:
        """Untried (valid) arms in the boxes of half-width ``radius`` around ``centres``, grown while empty."""
        for r in range(radius, max_radius + 1):
            offsets = np.stack(np.meshgrid(*[np.arange(-r, r + 1)] * d, indexing="ij"), -1).reshape(-1, d)
            box = np.unique(np.clip((centres[:, None, :] + offsets[None]).reshape(-1, d), 0, arms.sizes - 1), axis=0)
            fresh = np.array([c not in tried for c in map(tuple, box)])
            if valid is not None:
                fresh &= np.array([bool(valid(arms.params(c))) for c in box])
            if fresh.any():
                return box[fresh]
        return None

    def step() -> None:
        while queue:
            idx = queue.pop(0)
            if tuple(int(i) for i in idx) not in tried:
                return pull(idx)
        x = arms.unit(np.array(pulled))
        safe = np.array(margins) <= 0
        state["steps"] += 1
        local, centres = None, []
        if safe.any() and local_every and state["steps"] % local_every == 0:
            centres = [int(i) for i in np.argsort(np.where(safe, values, -np.inf), kind="stable")[::-1]
                       if safe[i] and (fail_tol is None or failures.get(tuple(pulled[i]), 0) < fail_tol)][:top_k]
            if centres:
                local = local_candidates(np.array(pulled)[centres])
        cand = local if local is not None else global_candidates()
        jitter = 1e-9 * rng.random(len(cand))
        xs = arms.unit(cand)
        if local is None:
            state["global"] += 1
            if mix and state["global"] % mix == 0:  # plain GP-UCB on the penalised values (gp_bandit's step)
                mean, sd = p_model.update(x, rank_warp(np.array(values))).predict(xs)
                return pull(cand[int(np.argmax(mean + np.sqrt(ucb_beta(arms.n, len(values) + 1, mix_beta, delta))
                                                * sd + jitter))])
        p_safe = prob_safe(x, xs)
        if not safe.any():  # start rule: no safe point known yet
            return pull(cand[int(np.argmax(p_safe + jitter))])
        use = np.isfinite(fit_values)
        mean, sd = f_model.update(x[use], rank_warp(np.array(fit_values)[use])).predict(xs)
        ucb = mean + np.sqrt(ucb_beta(arms.n, len(values) + 1, beta_scale, delta)) * sd
        floor = 1e-6 if local is not None else 0.0  # a box can hold few arms: keep its lowest UCB in the race
        pull(cand[int(np.argmax(p_safe * (ucb - ucb.min() + floor) + jitter))])
        if local is not None and not state["improved"]:
            for i in centres:
                failures[tuple(pulled[i])] = failures.get(tuple(pulled[i]), 0) + 1

    with threadpool_limits(1):  # small matrices: one BLAS thread is faster, and no oversubscription
        return run_until_exhausted(step, evaluator, min(budget, arms.n) * 3)
