"""Constrained GP-UCB: model the objective and the safety constraint separately.

:func:`ml.tuner.gp_bandit.gp_bandit` sees one number per pull, the *penalised* reward: a point
whose drawdown breaches the limit scores ``reward - breach_penalty``. On a surface where most of
the grid is unsafe and the optimum is an isolated safe point, the smoothness prior of that single
GP spreads the penalties of the unsafe neighbours onto the optimum and the search avoids it.

Here the two things are learnt apart (as in constrained Bayesian optimisation, Gardner et al. 2014,
Gelbart, Snoek & Adams 2014):

* an **objective GP** fitted only to the pulls that satisfied the constraint (``fit="safe"``), or
  to the *unpenalised* reward of every valid pull (``fit="unpenalised"``, default: for a backtest objective
  the reward plus the breach penalty it charged), rank-warped to normal scores either way, so
  invalid parameter sets and their -20 never enter it;
* a **constraint GP** fitted to the observed constraint value of every pull -- for a
  :class:`ml.tuner.env.BacktestObjective` the real maximum drawdown minus the limit (the *margin*,
  safe when <= 0), not the penalised reward -- giving ``P(safe) = P(margin <= 0)`` (predictive
  distribution, observation noise included, so a point whose neighbours only just breach keeps a
  fair chance);
* the acquisition weights the objective by ``P(safe)``: ``"ucb"`` (default) =
  ``P(safe) * (UCB - min UCB of the candidates)`` with GP-UCB's ``beta_t``; ``"ei"`` =
  ``P(safe) * EI`` over the best safe value (constrained EI); ``"threshold"`` = the highest UCB
  among candidates with ``P(safe) >= min_safe_prob`` (highest ``P(safe)`` if there is none);
* invalid parameter sets (no metrics, e.g. SMA ``fast >= slow``) are left out of the margin GP
  (they say nothing about drawdown); once one is seen, ``P(safe)`` is multiplied by ``P(valid)``
  from a GP on +-1 validity labels;
* **start rule**: until a safe point is known, pull the arm with the highest ``P(safe)``.

Without a constraint (a plain function, no ``metrics``/``reward.max_drawdown`` to read the
drawdown from, ``constraint=None``) every point counts as safe and the agent is GP-UCB.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import norm
from threadpoolctl import threadpool_limits

from ml.tuner.base import Evaluator, Objective, Space, TuningResult, run_until_exhausted
from ml.tuner.gp_bandit.arms import _Arms, ucb_beta
from ml.tuner.gp_bandit.kernel import GaussianProcess, rank_warp

Constraint = Callable[[dict], "float | None"]
ACQUISITIONS = ("ucb", "ei", "threshold")
FITS = ("safe", "unpenalised")


def drawdown_margin(objective) -> Constraint | None:
    """``params -> max_drawdown - limit`` (None for invalid sets) read from a backtest objective.

    Works for any object with ``metrics(params) -> dict | None`` and ``reward.max_drawdown`` (as
    :class:`ml.tuner.env.BacktestObjective`; its metrics are cached, so this costs no backtest).
    Returns None when ``objective`` exposes neither.
    """
    metrics = getattr(objective, "metrics", None)
    limit = getattr(getattr(objective, "reward", None), "max_drawdown", None)
    if not callable(metrics) or limit is None:
        return None

    def margin(params: dict) -> float | None:
        m = metrics(params)
        return None if m is None else float(m["max_drawdown"]) - float(limit)

    return margin


def unpenalised_reward(objective) -> Callable[[dict], float | None] | None:
    """``params -> reward without the breach penalty`` (None for invalid sets) of a backtest objective.

    Needs ``metrics(params)`` and a ``reward`` with ``is_safe(metrics)`` and ``breach_penalty``
    (as :class:`ml.tuner.env.RiskAdjustedReward`); None when ``objective`` exposes neither.
    """
    metrics, reward = getattr(objective, "metrics", None), getattr(objective, "reward", None)
    if not callable(metrics) or not hasattr(reward, "is_safe") or not hasattr(reward, "breach_penalty"):
        return None

    def value(params: dict) -> float | None:
        m = metrics(params)
        return None if m is None else float(reward(m)) + (0.0 if reward.is_safe(m) else float(reward.breach_penalty))

    return value


class _Model:
    """A GP refitted every ``refit_every`` new observations (warm-started)."""

    def __init__(self, dim: int, refit_every: int, min_fit: int = 3):
        self.gp = GaussianProcess(dim)
        self.refit_every, self.min_fit = refit_every, min_fit
        self.fitted_at = -10 ** 9

    def update(self, x: np.ndarray, y: np.ndarray) -> GaussianProcess:
        if len(y) >= self.min_fit and len(y) - self.fitted_at >= self.refit_every:
            self.gp.fit_hyperparameters(x, y)
            self.fitted_at = len(y)
        self.gp.condition(x, y)
        return self.gp


def _prob_below(gp: GaussianProcess, xs: np.ndarray, level: float) -> np.ndarray:
    """P(the next observation at ``xs`` <= ``level``): latent sd and the fitted noise."""
    mean, sd = gp.predict(xs)
    return norm.cdf((level - mean) / np.sqrt(sd ** 2 + gp._parts(gp.theta)[2]))


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
