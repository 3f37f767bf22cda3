"""The strategy parameter sets whose signals are pooled (:data:`DEFAULT_PARAM_GRIDS`), and pooling them."""

from __future__ import annotations

import pandas as pd

from ml.strategies import make_strategy

ParamGrids = dict[str, list[dict[str, int | float]]]
"""Strategy name -> parameter sets whose signals are pooled (training, serving and the benchmark)."""
DEFAULT_PARAM_GRIDS: ParamGrids = {
    "rsi_mean_reversion": [
        {"period": 2, "lower": 10.0, "upper": 90.0}, {"period": 3, "lower": 15.0, "upper": 85.0},
        {"period": 5, "lower": 25.0, "upper": 75.0}, {"period": 7, "lower": 30.0, "upper": 70.0},
        {"period": 14, "lower": 35.0, "upper": 65.0},
    ],
    "sma_crossover": [
        {"fast": 3, "slow": 10}, {"fast": 5, "slow": 20}, {"fast": 10, "slow": 30},
        {"fast": 20, "slow": 50}, {"fast": 50, "slow": 200},
    ],
    "donchian_breakout": [
        {"window": 5, "exit_window": 3}, {"window": 10, "exit_window": 5},
        {"window": 20, "exit_window": 10}, {"window": 55, "exit_window": 20},
    ],
}


def pooled_signals(bars: pd.DataFrame, strategy: str, param_sets: list[dict]) -> pd.DataFrame:
    """Signals of ``strategy`` under every parameter set, one per bar.

    Bars where the parameter sets disagree on the side are dropped; where they agree, the first
    set's signal (its strength) is kept.

    Args:
        bars: Bars frame (``ts`` index, OHLCV).
        strategy: Name in :data:`ml.strategies.STRATEGIES`.
        param_sets: Parameter dicts of that strategy (an empty list = its defaults).

    Returns:
        Frame indexed by ``ts`` with ``side`` and ``strength``, time-ordered.
    """
    frames = [make_strategy(strategy, **p).signals(bars) for p in (param_sets or [{}])]
    sig = pd.concat(frames).sort_index(kind="stable")
    conflict = sig.groupby(level=0)["side"].nunique() > 1
    sig = sig[~sig.index.isin(conflict[conflict].index)]
    return sig[~sig.index.duplicated(keep="first")]
