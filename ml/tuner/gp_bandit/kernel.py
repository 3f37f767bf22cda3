"""The Gaussian process of the GP tuners: a Matern-5/2 ARD kernel, the rank warp of the rewards, and zero-mean
GP regression whose hyperparameters are fitted by maximum marginal likelihood (analytic gradient)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from scipy.linalg import cho_solve, cholesky, solve_triangular
from scipy.optimize import minimize
from scipy.stats import norm, rankdata

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
