"""Trend strategies: SMA crossover (:class:`SMACrossover`) and Donchian breakout (:class:`DonchianBreakout`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from ml.strategies.base import Strategy
from ml.strategies.indicators import _close, crossings, ffill_events, rolling_extreme, sign_rows, sma_matrix
from ml.strategies.params import ParamSpec


@dataclass(frozen=True)
class SMACrossover(Strategy):
    """Moving-average crossover, always in the market after the first cross.

    Long after the fast SMA crosses strictly above the slow SMA, short after it crosses below
    (same rule as ``backtesting.lib.crossover``), flat before the first cross.

    Attributes:
        fast: Fast SMA window (bars), ``< slow``.
        slow: Slow SMA window (bars).
    """

    fast: int = 10
    slow: int = 30

    name: ClassVar[str] = "sma_crossover"
    space: ClassVar[dict[str, ParamSpec]] = {
        "fast": ParamSpec(2, 100, "int", 1),
        "slow": ParamSpec(10, 300, "int", 1),
    }

    def __post_init__(self) -> None:
        if not 1 <= int(self.fast) < int(self.slow):
            raise ValueError(f"SMACrossover needs 1 <= fast < slow, got {self}")

    @classmethod
    def _positions_rows(cls, bars: pd.DataFrame, strategies: list) -> np.ndarray:
        fast = np.array([int(s.fast) for s in strategies])
        slow = np.array([int(s.slow) for s in strategies])
        uniq, inverse = np.unique(np.concatenate([fast, slow]), return_inverse=True)
        smas = np.ascontiguousarray(sma_matrix(_close(bars), uniq).T)
        k = len(strategies)
        sign = sign_rows(smas[inverse[:k]] - smas[inverse[k:]])
        return ffill_events(sign, crossings(sign))

    def _strength(self, bars: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        smas = sma_matrix(_close(bars), np.array([int(self.fast), int(self.slow)]))
        return np.abs(smas[:, 0] / smas[:, 1] - 1.0)


@dataclass(frozen=True)
class DonchianBreakout(Strategy):
    """Donchian channel breakout (turtle style).

    Long when the close breaks above the highest high of the previous ``window`` bars, short
    when it breaks below the lowest low; a long exits when the close falls below the lowest low
    of the previous ``exit_window`` bars (a short: above the highest high).

    Attributes:
        window: Entry channel length (bars).
        exit_window: Exit channel length (bars).
    """

    window: int = 20
    exit_window: int = 10

    name: ClassVar[str] = "donchian_breakout"
    space: ClassVar[dict[str, ParamSpec]] = {
        "window": ParamSpec(5, 100, "int", 1),
        "exit_window": ParamSpec(2, 50, "int", 1),
    }

    def __post_init__(self) -> None:
        if int(self.window) < 1 or int(self.exit_window) < 1:
            raise ValueError(f"DonchianBreakout needs positive windows, got {self}")

    @staticmethod
    def _channels(bars: pd.DataFrame, windows: np.ndarray) -> tuple[dict, dict]:
        high, low = bars["high"].to_numpy(float), bars["low"].to_numpy(float)
        uniq = np.unique(windows)
        return (
            {int(w): rolling_extreme(high, int(w), "max") for w in uniq},
            {int(w): rolling_extreme(low, int(w), "min") for w in uniq},
        )

    @classmethod
    def _positions_rows(cls, bars: pd.DataFrame, strategies: list) -> np.ndarray:
        close = _close(bars)[None, :]
        win = np.array([int(s.window) for s in strategies])
        ext = np.array([int(s.exit_window) for s in strategies])
        hh, ll = cls._channels(bars, np.concatenate([win, ext]))
        with np.errstate(invalid="ignore"):
            enter_long = close > np.vstack([hh[w] for w in win])
            enter_short = close < np.vstack([ll[w] for w in win])
            exit_long = close < np.vstack([ll[w] for w in ext])
            exit_short = close > np.vstack([hh[w] for w in ext])
        long_state = ffill_events(enter_long.view(np.int8), enter_long | exit_long | enter_short)
        short_state = ffill_events(enter_short.view(np.int8), enter_short | exit_short | enter_long)
        return long_state - short_state

    def _strength(self, bars: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        hh, ll = self._channels(bars, np.array([int(self.window)]))
        close = _close(bars)
        top, bottom = hh[int(self.window)], ll[int(self.window)]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(pos > 0, close / top - 1.0, np.where(pos < 0, 1.0 - close / bottom, 0.0))

