"""Min-max scaling of rewards by the values seen so far (the learning rates then do not depend on the scale
of the objective)."""

from __future__ import annotations

import numpy as np


class _Normaliser:
    """Min-max scaling of rewards by the values seen so far."""

    def __init__(self):
        self.lo, self.hi = np.inf, -np.inf

    def __call__(self, value: float) -> float:
        self.lo, self.hi = min(self.lo, value), max(self.hi, value)
        return (value - self.lo) / (self.hi - self.lo) if self.hi > self.lo else 0.5
