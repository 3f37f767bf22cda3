"""Common pieces of every tuner: the search space, the budgeted evaluator and the result.

Every method has the same signature ``tune(objective, space, budget, seed) -> TuningResult``;
``objective(params) -> float`` is maximised. Parameters are snapped to their ``ParamSpec`` grid
(``low + k * step``) and cached, so ``budget`` counts *distinct* evaluations (re-visiting a point
costs nothing, as a backtest of the same parameters gives the same number).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ml.strategies import ParamSpec

Space = dict[str, ParamSpec]
Objective = Callable[[dict], float]


class BudgetExhausted(Exception):
    """Raised by :class:`Evaluator` when a new evaluation would exceed the budget."""


@dataclass
class TuningResult:
    """Outcome of one tuning run.

    Attributes:
        best_params: Parameters with the highest objective value.
        best_value: That value.
        history: ``(params, value)`` of every distinct evaluation, in order.
        n_evaluations: ``len(history)``.
    """

    best_params: dict
    best_value: float
    history: list[tuple[dict, float]] = field(default_factory=list)
    n_evaluations: int = 0

    def evaluations_to_reach(self, target: float) -> int | None:
        """1-based number of evaluations until a value >= ``target`` was first seen (None if never)."""
        for i, (_, value) in enumerate(self.history, start=1):
            if value >= target:
                return i
        return None


def snap(value: float, spec: ParamSpec) -> float | int:
    """Clip ``value`` into ``[low, high]`` and round it onto the grid ``low + k * step``."""
    k = round((min(max(float(value), spec.low), spec.high) - spec.low) / spec.step)
    snapped = min(spec.low + k * spec.step, spec.high)
    return round(snapped) if spec.kind == "int" else float(round(snapped, 12))


def snap_params(params: dict, space: Space) -> dict:
    """Snap every parameter of ``params`` onto its grid."""
    return {name: snap(params[name], spec) for name, spec in space.items()}


def grid_points(space: Space) -> list[dict]:
    """All points of the space's grid (Cartesian product of ``ParamSpec.grid()``), row-major."""
    names = list(space)
    axes = [[snap(v, space[name]) for v in space[name].grid()] for name in names]
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


def levels(spec: ParamSpec, max_levels: int) -> np.ndarray:
    """At most ``max_levels`` evenly spread grid values of ``spec`` (the whole grid if smaller)."""
    grid = np.array([snap(v, spec) for v in spec.grid()])
    if len(grid) <= max_levels:
        return grid
    return np.unique(grid[np.round(np.linspace(0, len(grid) - 1, max_levels)).astype(int)])


def from_unit(x: np.ndarray, space: Space) -> dict:
    """Map a point of the unit cube to (snapped) parameters."""
    return {name: snap(spec.low + float(np.clip(xi, 0, 1)) * (spec.high - spec.low), spec)
            for xi, (name, spec) in zip(x, space.items())}


def to_unit(params: dict, space: Space) -> np.ndarray:
    """Map parameters to the unit cube."""
    return np.array([(params[name] - spec.low) / (spec.high - spec.low) for name, spec in space.items()])


class Evaluator:
    """Budgeted, caching wrapper around an objective that records the history."""

    def __init__(self, objective: Objective, space: Space, budget: int):
        self.objective = objective
        self.space = space
        self.budget = int(budget)
        self.cache: dict[tuple, float] = {}
        self.history: list[tuple[dict, float]] = []

    @property
    def exhausted(self) -> bool:
        """True once ``budget`` distinct points have been evaluated."""
        return len(self.history) >= self.budget

    def __call__(self, params: dict) -> float:
        """Value of ``params`` (snapped); raises :class:`BudgetExhausted` past the budget."""
        point = snap_params(params, self.space)
        key = tuple(point.values())
        if key not in self.cache:
            if self.exhausted:
                raise BudgetExhausted
            value = float(self.objective(point))
            self.cache[key] = value if np.isfinite(value) else -1e12
            self.history.append((point, self.cache[key]))
        return self.cache[key]

    def result(self) -> TuningResult:
        """The :class:`TuningResult` of everything evaluated so far."""
        if not self.history:
            return TuningResult({}, float("-inf"), [], 0)
        best = int(np.argmax([value for _, value in self.history]))
        params, value = self.history[best]
        return TuningResult(dict(params), value, list(self.history), len(self.history))


def run_until_exhausted(step: Callable[[], None], evaluator: Evaluator, max_steps: int) -> TuningResult:
    """Call ``step`` until the budget is spent (or ``max_steps`` calls); return the result."""
    try:
        for _ in range(max_steps):
            if evaluator.exhausted:
                break
            step()
    except BudgetExhausted:
        pass
    return evaluator.result()
