"""Primary trading strategies: target positions and entry signals from a bars frame.

Every strategy is a frozen dataclass whose fields are its named parameters. It answers two
questions about a bars frame (``ts`` index, ``open high low close volume``):

* ``positions(bars)`` -- the target position per bar in ``{-1, 0, +1}``, decided with the
  information available at the bar's close, i.e. meant to be executed at the NEXT bar's open;
* ``signals(bars)`` -- one row per entry or flip event (``side`` +1 BUY / -1 SELL and a
  non-negative ``strength``), indexed by the ``ts`` of the bar at whose close it fires. This is
  the "primary model" of meta-labelling (López de Prado, *Advances in Financial ML*, ch. 3).

``positions_batch`` evaluates many parameter sets at once (indicators are computed once per
distinct window, event states are forward-filled with one array operation across sets); the
single-set ``positions`` goes through the same code, so the two always agree.

Modules: :mod:`ml.strategies.params` (:class:`ParamSpec`), :mod:`ml.strategies.indicators` (vectorised indicators
and event helpers), :mod:`ml.strategies.base` (the abstract :class:`Strategy`), :mod:`ml.strategies.mean_reversion`
(RSI mean reversion), :mod:`ml.strategies.trend` (SMA crossover, Donchian breakout), :mod:`ml.strategies.registry`
(:data:`STRATEGIES`, building by name).
"""

from ml.strategies.base import Strategy
from ml.strategies.indicators import (
    crossings,
    ffill_events,
    rolling_extreme,
    sign_rows,
    sma_matrix,
    wilder_rsi,
)
from ml.strategies.mean_reversion import RSIMeanReversion
from ml.strategies.params import ParamSpec
from ml.strategies.registry import (
    STRATEGIES,
    get_strategy_class,
    make_strategy,
    positions_batch,
)
from ml.strategies.trend import DonchianBreakout, SMACrossover

__all__ = [
    "STRATEGIES",
    "DonchianBreakout",
    "ParamSpec",
    "RSIMeanReversion",
    "SMACrossover",
    "Strategy",
    "crossings",
    "ffill_events",
    "get_strategy_class",
    "make_strategy",
    "positions_batch",
    "rolling_extreme",
    "sign_rows",
    "sma_matrix",
    "wilder_rsi",
]
