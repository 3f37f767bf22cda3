"""Timeframes in minutes and bars, and the filter of a query to some series (symbols, timeframes)."""

from __future__ import annotations

import re
from typing import Any

_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}



def timeframe_minutes(timeframe: str) -> int:
    """Minutes in one bar of ``timeframe`` (``"1d"`` -> 1440): ``VolatilityPrediction.horizon`` is in minutes."""
    match = re.fullmatch(r"([1-9][0-9]*)([mhdw])", timeframe)
    if match is None:
        raise ValueError(f"bad timeframe {timeframe!r}")
    return int(match.group(1)) * _MINUTES[match.group(2)]


def horizon_bars(horizon_minutes: int, timeframe: str) -> int:
    """A stored horizon (minutes) in bars of ``timeframe`` (at least 1)."""
    return max(1, round(horizon_minutes / timeframe_minutes(timeframe)))



def _series(cond: list, model: Any, symbols: list[str] | None, timeframes: list[str] | None) -> list:
    """``cond`` restricted to ``symbols`` / ``timeframes`` when given (None: all)."""
    if symbols is not None:
        cond.append(model.symbol.in_(list(symbols)))
    if timeframes is not None:
        cond.append(model.timeframe.in_(list(timeframes)))
    return cond

