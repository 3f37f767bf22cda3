"""Mean-reversion strategy: RSI mean reversion (:class:`RSIMeanReversion`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from ml.strategies.base import Strategy
from ml.strategies.indicators import _close, ffill_events, wilder_rsi
from ml.strategies.params import ParamSpec


@dataclass(frozen=True)
class RSIMeanReversion(Strategy):
    """Mean reversion on Wilder's RSI.

    Goes long when RSI < ``lower``, short when RSI > ``upper``, and goes flat when RSI crosses
    the mid-level ``(lower + upper) / 2`` (the reversion is done).

    Attributes:
        period: RSI look-back (bars).
        lower: Oversold threshold (long entry).
        upper: Overbought threshold (short entry).
    """

    period: int = 14
    lower: float = 30.0
    upper: float = 70.0

    name: ClassVar[str] = "rsi_mean_reversion"
    space: ClassVar[dict[str, ParamSpec]] = {
        "period": ParamSpec(2, 50, "int", 1),
        "lower": ParamSpec(10.0, 45.0, "float", 1.0),
        "upper": ParamSpec(55.0, 90.0, "float", 1.0),
    }

    def __post_init__(self) -> None:
        if int(self.period) < 2 or not 0 < self.lower < self.upper < 100:
            raise ValueError(f"invalid RSI parameters {self}")

    @classmethod
    def _positions_rows(cls, bars: pd.DataFrame, strategies: list) -> np.ndarray:
        close = _close(bars)
        periods = np.array([int(s.period) for s in strategies])
        uniq, inverse = np.unique(periods, return_inverse=True)
        rsi = np.vstack([wilder_rsi(close, int(p)) for p in uniq])[inverse]
        lower = np.array([s.lower for s in strategies], dtype=float)[:, None]
        upper = np.array([s.upper for s in strategies], dtype=float)[:, None]
        with np.errstate(invalid="ignore"):
            above_mid = rsi > (lower + upper) / 2
            buy, sell = rsi < lower, rsi > upper
        crossed_mid = np.zeros_like(above_mid)
        crossed_mid[:, 1:] = (above_mid[:, 1:] != above_mid[:, :-1]) & ~np.isnan(rsi[:, :-1])
        values = np.where(buy, 1, np.where(sell, -1, 0)).astype(np.int8)
        return ffill_events(values, buy | sell | crossed_mid)

    def _strength(self, bars: pd.DataFrame, pos: np.ndarray) -> np.ndarray:
        rsi = wilder_rsi(_close(bars), int(self.period))
        buy = (self.lower - rsi) / self.lower
        sell = (rsi - self.upper) / (100.0 - self.upper)
        return np.where(pos > 0, buy, np.where(pos < 0, sell, 0.0))

