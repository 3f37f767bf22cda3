"""The arms of the GP tuners (every grid point, as integer level indices with unit-cube coordinates) and
GP-UCB's exploration weight."""

from __future__ import annotations

import numpy as np
from scipy.stats import qmc

from ml.tuner.base import Space, levels


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
