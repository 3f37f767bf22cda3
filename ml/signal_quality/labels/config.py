"""The columns of a label frame, the triple-barrier parameters and the volatility that scales the barriers."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

LABEL_COLUMNS = [
    "side",
    "entry_time",
    "entry_price",
    "vol",
    "pt_ret",
    "sl_ret",
    "exit_time",
    "exit_price",
    "ret",
    "holding_bars",
    "barrier",
    "label",
]


@dataclass(frozen=True)
class BarrierConfig:
    """Triple-barrier parameters.

    Attributes:
        pt_mult: Take-profit distance in multiples of ``vol``.
        sl_mult: Stop-loss distance in multiples of ``vol``.
        max_holding: Bars held at most (vertical barrier); the entry bar is the first.
        vol_span: Span of the EWM standard deviation of close-to-close returns.
        min_vol: Floor on ``vol`` so that barriers never collapse onto the entry price.
    """

    pt_mult: float = 1.5
    sl_mult: float = 1.5
    max_holding: int = 10
    vol_span: int = 50
    min_vol: float = 1e-4


def ewm_volatility(close: pd.Series, span: int = 50) -> pd.Series:
    """EWM standard deviation of simple close-to-close returns, known at each bar's close.

    Args:
        close: Close prices indexed by ``ts``.
        span: EWM span in bars.

    Returns:
        Series aligned with ``close`` (NaN during warm-up).
    """
    return close.pct_change().ewm(span=span, min_periods=max(span // 2, 2)).std()
