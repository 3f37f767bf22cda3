"""GP-UCB: a multi-armed bandit whose arms are the grid points, with a Gaussian-process prior.

The factorised bandits of :mod:`ml.tuner.agents` treat each parameter level as an independent
arm, so they learn nothing about a point from its neighbours and cannot see interactions (the
SMA-crossover surface is not separable in ``fast`` x ``slow``). Here every grid point is an arm
and the arms are correlated through a Gaussian-process prior over the unit cube (Matern-5/2
kernel with one length scale per parameter), so one pull informs the estimate of every
neighbouring arm. The policy is GP-UCB (Srinivas, Krause, Kakade & Seeger 2010): pull the
not-yet-pulled arm with the highest ``mean + sqrt(beta_t) * sd`` of the posterior, with the
theoretical ``beta_t = 2 log(|arms| t^2 pi^2 / (6 delta))`` scaled by ``beta_scale`` (the usual
practical shrinkage; the theory value over-explores).

Robustness on a backtest surface:

* Rewards are rank-warped to normal scores (a Gaussian copula) before the GP sees them, so the
  -20 of an invalid parameter set or the breach penalty of an unsafe one is just "the worst value
  seen" and does not wreck the fit of the smooth part.
* Kernel length scales, signal and noise variance are fitted by maximum marginal likelihood
  (L-BFGS-B with the analytic gradient) every ``refit_every`` pulls; the noise term absorbs the
  ruggedness of the surface.
* Grids larger than ``max_arms`` are handled by scoring a fresh random subset of arms plus the
  neighbours of the best arms seen at each pull.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize
from scipy.stats import norm, qmc, rankdata
from threadpoolctl import threadpool_limits

from ml.tuner.base import Evaluator, Objective, Space, TuningResult, levels, run_until_exhausted

SQRT5 = np.sqrt(5.0)


def matern52(a: np.ndarray, b: np.ndarray, lengths: np.ndarray, variance: float) -> np.ndarray:
    """Matern-5/2 ARD kernel matrix between the rows of ``a`` and ``b``."""
    diff = (a[:, None, :] - b[None, :, :]) / lengths
    r = np.sqrt(np.maximum((diff ** 2).sum(-1), 0.0))
    return variance * (1.0 + SQRT5 * r + 5.0 / 3.0 * r ** 2) * np.exp(-SQRT5 * r)


def rank_warp(y: np.ndarray) -> np.ndarray:
    """Normal scores of the ranks of ``y`` (ties share their mean rank)."""
    return norm.ppf((rankdata(y) - 0.5) / len(y))


class GaussianProcess:
    """Zero-mean GP regression with a Matern-5/2 ARD kernel and Gaussian noise.

    Hyperparameters ``theta = log([length_1..length_d, signal variance, noise variance])``.
    """

    BOUNDS_LOG: ClassVar[dict[str, tuple[float, float]]] = {
        "length": (np.log(0.02), np.log(3.0)), "signal": (np.log(0.05), np.log(20.0)),
        "noise": (np.log(1e-6), np.log(1.0))}

    def __init__(self, dim: int):
        self.theta = np.log(np.r_[np.full(dim, 0.3), 1.0, 1e-2])

    def _parts(self, theta):
        d = len(theta) - 2
        return np.exp(theta[:d]), float(np.exp(theta[d])), float(np.exp(theta[d + 1]))

    def nll(self, theta: np.ndarray, sq: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """Negative log marginal likelihood and its gradient in ``theta``.

        ``sq`` holds the squared coordinate differences of the inputs, shape ``(d, n, n)``.
        """
        lengths, signal, noise = self._parts(theta)
        n = len(y)
        diff2 = sq / (lengths ** 2)[:, None, None]  # (d, n, n)
        r = np.sqrt(diff2.sum(0))
        e = np.exp(-SQRT5 * r)
        kf = signal * (1.0 + SQRT5 * r + 5.0 / 3.0 * r ** 2) * e
        try:
            chol = cholesky(kf + (noise + 1e-9) * np.eye(n), lower=True)
        except np.linalg.LinAlgError:
            return 1e10, np.zeros_like(theta)
        alpha = cho_solve((chol, True), y)
        value = 0.5 * y @ alpha + np.log(np.diag(chol)).sum() + 0.5 * n * np.log(2 * np.pi)
        inner = np.outer(alpha, alpha) - cho_solve((chol, True), np.eye(n))
        common = signal * 5.0 / 3.0 * (1.0 + SQRT5 * r) * e
        grad = np.empty_like(theta)
        for i in range(len(lengths)):
            grad[i] = -0.5 * np.sum(inner * common * diff2[i])
        grad[-2] = -0.5 * np.sum(inner * kf)
        grad[-1] = -0.5 * noise * np.trace(inner)
        return float(value), grad

    def fit_hyperparameters(self, x: np.ndarray, y: np.ndarray) -> None:
        """Maximum marginal likelihood, warm-started from the current hyperparameters."""
        d = x.shape[1]
        bounds = [self.BOUNDS_LOG["length"]] * d + [self.BOUNDS_LOG["signal"], self.BOUNDS_LOG["noise"]]
        start = np.clip(self.theta, [b[0] for b in bounds], [b[1] for b in bounds])
        sq = (x.T[:, :, None] - x.T[:, None, :]) ** 2
        best = minimize(self.nll, start, args=(sq, y), jac=True, method="L-BFGS-B", bounds=bounds,
                        options={"maxiter": 40})
        if np.isfinite(best.fun) and best.fun < self.nll(start, sq, y)[0]:
            self.theta = best.x

    def condition(self, x: np.ndarray, y: np.ndarray) -> None:
        """Condition on observations (current hyperparameters)."""
        lengths, signal, noise = self._parts(self.theta)
        self.x_, self.lengths_, self.signal_ = x, lengths, signal
        self.chol_ = cholesky(matern52(x, x, lengths, signal) + (noise + 1e-9) * np.eye(len(x)), lower=True)
        self.alpha_ = cho_solve((self.chol_, True), y)

    def predict(self, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and standard deviation of the latent function at ``xs``."""
        ks = matern52(xs, self.x_, self.lengths_, self.signal_)
        v = solve_triangular(self.chol_, ks.T, lower=True)
        return ks @ self.alpha_, np.sqrt(np.maximum(self.signal_ - (v ** 2).sum(0), 1e-12))


class _Arms:
    """The grid as integer level indices per parameter, with unit-cube coordinates."""

    def __init__(self, space: Space):
        self.names = list(space)
        self.axes = [levels(spec, 10 ** 9) for spec in space.values()]
        self.units = [(axis - spec.low) / max(spec.high - spec.low, 1e-12) for axis, spec in zip(self.axes, space.values())]
        self.sizes = np.array([len(axis) for axis in self.axes])
        self.n = int(np.prod(self.sizes, dtype=float)) if np.prod(self.sizes, dtype=float) < 2 ** 62 else 2 ** 62

    def unit(self, idx: np.ndarray) -> np.ndarray:
        return np.column_stack([u[idx[:, j]] for j, u in enumerate(self.units)])

    def params(self, idx: np.ndarray) -> dict:
        return {name: axis[i].item() for name, axis, i in zip(self.names, self.axes, idx)}

    def all(self) -> np.ndarray:
        return np.stack(np.unravel_index(np.arange(self.n), tuple(self.sizes)), axis=1)

    def random(self, rng: np.random.Generator, m: int) -> np.ndarray:
        return np.column_stack([rng.integers(0, s, m) for s in self.sizes])

    def neighbours(self, rng: np.random.Generator, centres: np.ndarray, m: int) -> np.ndarray:
        """Points near ``centres``: Gaussian steps of 1-10 % of each axis' levels."""
        pick = centres[rng.integers(0, len(centres), m)]
        scale = rng.choice([0.01, 0.03, 0.1], size=(m, 1)) * self.sizes
        step = np.rint(rng.normal(0, 1, (m, len(self.sizes))) * np.maximum(scale, 1.0)).astype(int)
        return np.clip(pick + step, 0, self.sizes - 1)

    def latin_hypercube(self, rng: np.random.Generator, m: int) -> np.ndarray:
        sample = qmc.LatinHypercube(d=len(self.sizes), seed=rng).random(m)
        return np.minimum((sample * self.sizes).astype(int), self.sizes - 1)


def ucb_beta(n_arms: int, t: int, beta_scale: float, delta: float) -> float:
    """GP-UCB's exploration weight ``beta_t = 2 log(|arms| t^2 pi^2 / (6 delta))`` at pull ``t``, times ``beta_scale``."""
    return beta_scale * 2.0 * np.log(n_arms * t ** 2 * np.pi ** 2 / (6.0 * delta))


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
