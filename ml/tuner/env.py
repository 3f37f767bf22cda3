"""The tuning environment: a backtest-backed reward and a gymnasium walk through parameter space.

The reward is a risk-adjusted return: the (annualised) Sharpe ratio minus a penalty per unit of
maximum drawdown. Safe exploration: a parameter set whose drawdown breaches ``max_drawdown`` gets
an extra ``breach_penalty`` (so it can never be the best of a search that found a safe point) and
is flagged unsafe; ``ParamWalkEnv`` only ever reports safe points as its ``best_params``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import gymnasium as gym
import numpy as np
import pandas as pd

from ml.backtest import BacktestConfig, evaluate_param_sets
from ml.strategies import Strategy, get_strategy_class
from ml.tuner.base import Space, levels, to_unit


@dataclass(frozen=True)
class RiskAdjustedReward:
    """reward = Sharpe - dd_penalty * max_drawdown, minus ``breach_penalty`` if unsafe.

    Attributes:
        dd_penalty: Sharpe units charged per unit (100 %) of maximum drawdown.
        max_drawdown: Drawdown constraint (fraction); above it a point is unsafe.
        breach_penalty: Extra penalty of unsafe points.
    """

    dd_penalty: float = 1.0
    max_drawdown: float = 0.5
    breach_penalty: float = 10.0

    def is_safe(self, metrics: dict) -> bool:
        """True when the drawdown constraint holds."""
        return bool(metrics["max_drawdown"] <= self.max_drawdown)

    def __call__(self, metrics: dict) -> float:
        value = float(metrics["sharpe"]) - self.dd_penalty * float(metrics["max_drawdown"])
        return value if self.is_safe(metrics) else value - self.breach_penalty


class BacktestObjective:
    """``params -> reward`` of one strategy on a window of bars (metrics cached per point).

    Args:
        bars: Bars frame; bars before ``start`` only warm indicators up.
        strategy: Strategy name or class.
        config: Backtest costs.
        reward: Reward function of the backtest metrics.
        start: First bar of the evaluated window.
        end: One past the last bar of the window (None = all).
    """

    def __init__(self, bars: pd.DataFrame, strategy: str | type[Strategy], config: BacktestConfig | None = None,
                 reward: RiskAdjustedReward | None = None, start: int = 0, end: int | None = None):
        self.bars = bars.iloc[:end] if end is not None else bars
        self.strategy = get_strategy_class(strategy) if isinstance(strategy, str) else strategy
        self.config = config or BacktestConfig()
        self.reward = reward or RiskAdjustedReward()
        self.start = start
        self._metrics: dict[tuple, dict | None] = {}

    def metrics_many(self, param_sets: list[dict]) -> list[dict | None]:
        """Backtest metrics of many parameter sets in one batch (None for invalid sets)."""
        todo = [p for p in param_sets if self._key(p) not in self._metrics]
        valid = [p for p in todo if self.strategy.is_valid(p)]
        for p in todo:
            self._metrics[self._key(p)] = None
        if valid:
            table = evaluate_param_sets(self.bars, self.strategy, valid, self.config, self.start)
            for p, row in zip(valid, table.to_dict("records")):
                self._metrics[self._key(p)] = row
        return [self._metrics[self._key(p)] for p in param_sets]

    def metrics(self, params: dict) -> dict | None:
        """Backtest metrics of ``params`` (None if the parameter set is invalid)."""
        return self.metrics_many([params])[0]

    def is_safe(self, params: dict) -> bool:
        """True if ``params`` is valid and meets the drawdown constraint."""
        m = self.metrics(params)
        return m is not None and self.reward.is_safe(m)

    def __call__(self, params: dict) -> float:
        m = self.metrics(params)
        return -2 * self.reward.breach_penalty if m is None else self.reward(m)

    @staticmethod
    def _key(params: dict) -> tuple:
        return tuple(sorted(params.items()))


class ParamWalkEnv(gym.Env):
    """An episode is a walk through a (discretised) parameter space; the reward is the objective.

    Observation: the current point in the unit cube (``Box(0, 1, (d,))``).
    Actions: ``"discrete"`` -- ``Discrete(1 + 2 * d * len(jumps))``: 0 stays, the others move one
    parameter up/down by ``jumps`` levels; ``"continuous"`` -- ``Box(-1, 1, (d,))``: move every
    parameter by ``action * max_move`` of its range. Episodes are truncated after ``max_steps``.

    Args:
        objective: ``params -> float`` (e.g. :class:`BacktestObjective`), maximised.
        space: Parameter space.
        max_levels: Levels per parameter (the grid is thinned to at most this many).
        max_steps: Episode length.
        action_mode: ``"discrete"`` or ``"continuous"``.
        jumps: Level jumps of the discrete moves.
        max_move: Largest continuous move, as a fraction of each parameter's range.
        is_safe: Optional ``params -> bool``; unsafe points are never reported as best.
    """

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, objective: Callable[[dict], float], space: Space, max_levels: int = 20, max_steps: int = 20,
                 action_mode: str = "discrete", jumps: tuple[int, ...] = (1, 4), max_move: float = 0.25,
                 is_safe: Callable[[dict], bool] | None = None):
        self.objective, self.space, self.names = objective, space, list(space)
        self.axes = [levels(spec, max_levels) for spec in space.values()]
        self.max_steps, self.action_mode, self.jumps, self.max_move = max_steps, action_mode, jumps, max_move
        self.is_safe = is_safe or (lambda params: True)
        d = len(space)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (d,), dtype=np.float64)
        self.action_space = (gym.spaces.Discrete(1 + 2 * d * len(jumps)) if action_mode == "discrete"
                             else gym.spaces.Box(-1.0, 1.0, (d,), dtype=np.float64))
        self.index = np.zeros(d, dtype=int)
        self.steps = 0
        self.best_params: dict | None = None
        self.best_value = -np.inf

    def params(self, index: np.ndarray | None = None) -> dict:
        """Parameters at a level ``index`` (default: the current point)."""
        index = self.index if index is None else index
        return {n: axis[i].item() for n, axis, i in zip(self.names, self.axes, index)}

    def _observe(self, value: float) -> tuple[np.ndarray, dict]:
        params = self.params()
        safe = self.is_safe(params)
        if safe and value > self.best_value:
            self.best_params, self.best_value = params, value
        # fresh objects on every call (gymnasium's API: users keep what an env returns)
        info = {"params": dict(params), "value": value, "safe": safe,
                "best_params": None if self.best_params is None else dict(self.best_params),
                "best_value": self.best_value}
        return to_unit(params, self.space), info

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        start = (options or {}).get("start")
        self.index = (np.array(start, dtype=int) if start is not None
                      else np.array([self.np_random.integers(len(axis)) for axis in self.axes]))
        self.steps = 0
        return self._observe(self.objective(self.params()))

    def _move(self, action) -> np.ndarray:
        index = self.index.copy()
        if self.action_mode == "discrete":
            if int(action) > 0:
                dim, rest = divmod(int(action) - 1, 2 * len(self.jumps))
                jump, sign = self.jumps[rest // 2], 1 if rest % 2 == 0 else -1
                index[dim] += sign * jump
        else:
            frac = np.clip(np.asarray(action, dtype=float), -1, 1) * self.max_move
            index += np.round(frac * np.array([len(a) - 1 for a in self.axes])).astype(int)
        return np.clip(index, 0, [len(a) - 1 for a in self.axes])

    def step(self, action):
        self.index = self._move(action)
        self.steps += 1
        value = self.objective(self.params())
        obs, info = self._observe(value)
        return obs, value, False, self.steps >= self.max_steps, info


def pareto_front(objective: BacktestObjective, param_sets: list[dict]) -> list[dict]:
    """Non-dominated parameter sets for (max total return, min max drawdown).

    The multi-objective view of tuning; :class:`RiskAdjustedReward` is its weighted scalarisation.

    Returns:
        ``{"params", "total_return", "max_drawdown"}`` records, sorted by drawdown.
    """
    rows = [(p, m) for p, m in zip(param_sets, objective.metrics_many(param_sets)) if m is not None]
    front = [
        {"params": p, "total_return": m["total_return"], "max_drawdown": m["max_drawdown"]}
        for p, m in rows
        if not any(o["total_return"] >= m["total_return"] and o["max_drawdown"] <= m["max_drawdown"]
                   and (o["total_return"] > m["total_return"] or o["max_drawdown"] < m["max_drawdown"])
                   for _, o in rows)
    ]
    return sorted(front, key=lambda r: r["max_drawdown"])
