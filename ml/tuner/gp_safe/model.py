"""The GPs of the constrained GP-UCB: one refitted every few new observations, and the probability that the
next observation falls below a level (``P(safe)``, ``P(valid)``)."""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

from ml.tuner.gp_bandit.kernel import GaussianProcess


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
