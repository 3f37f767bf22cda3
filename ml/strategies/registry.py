"""The strategies by name (:data:`STRATEGIES`), building one and batches of parameter sets by name."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.strategies.base import Strategy
from ml.strategies.mean_reversion import RSIMeanReversion
from ml.strategies.trend import DonchianBreakout, SMACrossover

STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (RSIMeanReversion, SMACrossover, DonchianBreakout)
}


def get_strategy_class(name: str) -> type[Strategy]:
    """Return the strategy class registered under ``name`` (see :data:`STRATEGIES`)."""
    try:
        return STRATEGIES[name]
    except KeyError:
        raise KeyError(f"unknown strategy {name!r}; choose from {sorted(STRATEGIES)}") from None


def make_strategy(name: str, **params) -> Strategy:
    """Build the strategy registered under ``name`` with ``params`` (defaults for the rest)."""
    return get_strategy_class(name)(**params)


def positions_batch(strategy: str | type[Strategy], bars: pd.DataFrame, param_sets: list[dict]) -> np.ndarray:
    """Target positions of many parameter sets of one strategy: ``(n_bars, n_sets)`` int8 array."""
    cls = get_strategy_class(strategy) if isinstance(strategy, str) else strategy
    return cls.positions_batch(bars, param_sets)

