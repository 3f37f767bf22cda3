"""The search range of one strategy parameter (:class:`ParamSpec`)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ParamSpec(NamedTuple):
    """Search range of one strategy parameter.

    Attributes:
        low: Smallest allowed value (inclusive).
        high: Largest allowed value (inclusive).
        kind: ``"int"`` or ``"float"``.
        step: Grid resolution (used by grid search and discretised agents).
    """

    low: float
    high: float
    kind: str = "int"
    step: float = 1.0

    def grid(self) -> np.ndarray:
        """Return the evenly spaced grid ``low, low+step, ..., <= high``."""
        values = np.arange(self.low, self.high + self.step / 2, self.step)
        return values.astype(int) if self.kind == "int" else values.astype(float)

    def cast(self, value: float) -> float | int:
        """Clip ``value`` into ``[low, high]`` and round it to an int if ``kind == "int"``."""
        clipped = min(max(float(value), self.low), self.high)
        return int(round(clipped)) if self.kind == "int" else float(clipped)

