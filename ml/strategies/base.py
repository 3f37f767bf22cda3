"""The abstract primary strategy: parameters, validity, positions, signals and batches of parameter sets."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict
from typing import ClassVar

import numpy as np
import pandas as pd

from ml.strategies.params import ParamSpec


class Strategy(ABC):
    """Abstract primary strategy; concrete strategies are frozen dataclasses of their params."""

    name: ClassVar[str]
    space: ClassVar[dict[str, ParamSpec]]

    def params(self) -> dict:
        """Return the parameters as a plain dict (field name -> value)."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def param_space(cls) -> dict[str, ParamSpec]:
        """Return the search space: parameter name -> :class:`ParamSpec`."""
        return dict(cls.space)

    @classmethod
    def is_valid(cls, params: dict) -> bool:
        """Return True when ``cls(**params)`` is a valid strategy (e.g. ``fast < slow``)."""
        try:
            cls(**params)
        except (TypeError, ValueError):
            return False
        return True

    def positions(self, bars: pd.DataFrame) -> pd.Series:
        """Target position per bar in ``{-1, 0, +1}``, to be executed at the next bar's open."""
        column = type(self)._positions_rows(bars, [self])[0]
        return pd.Series(column.astype(np.int64), index=bars.index, name="position")

    def signals(self, bars: pd.DataFrame) -> pd.DataFrame:
        """Entry/flip events: ``side`` (+1 BUY, -1 SELL) and ``strength`` (>= 0), indexed by ``ts``."""
        pos = self.positions(bars).to_numpy()
        prev = np.concatenate([[0], pos[:-1]])
        fire = (pos != 0) & (pos != prev)
        strength = np.nan_to_num(np.clip(self._strength(bars, pos), 0.0, None), nan=0.0)
        frame = pd.DataFrame(
            {"side": pos[fire].astype(np.int64), "strength": strength[fire].astype(float)},
            index=bars.index[fire],
        )
        frame.index.name = "ts"
        return frame

    @classmethod
    def positions_batch(cls, bars: pd.DataFrame, param_sets: list[dict]) -> np.ndarray:
        """Target positions for many parameter sets: int8 array of shape ``(n_bars, n_sets)``.

        Raises:
            ValueError: if a parameter set is invalid (see :meth:`is_valid`).
        """
        strategies = [cls(**params) for params in param_sets]
        if not strategies:
            return np.zeros((len(bars), 0), dtype=np.int8)
        return cls._positions_rows(bars, strategies).T  # a view; rows stay contiguous per set

    @classmethod
    @abstractmethod
    def _positions_rows(cls, bars: pd.DataFrame, strategies: list) -> np.ndarray:
        """Vectorised positions of ``strategies`` (all of this class) as a ``(k, n)`` int8 array."""

    @abstractmethod
    def _strength(self, bars: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        """Signal strength per bar for the side held in ``pos`` (only read at event bars)."""

