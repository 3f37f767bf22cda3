"""Vectorised long/short backtester of target positions, batched across parameter sets.

Execution model (the same as ``backtesting.py`` with ``trade_on_close=False``,
``exclusive_orders=False``, ``hedging=False``, ``finalize_trades=False``):

* ``positions[t]`` is decided at the close of bar ``t`` and filled at the OPEN of bar ``t + 1``;
  a target on the last bar is never filled;
* a change of target closes the open trade (if any) and, if the new target is not flat, opens a
  new all-in trade in the same bar: size = equity / (price * (1 + commission)); in
  ``integer_units`` mode the size is floored to whole units exactly as ``backtesting.py``'s
  ``_Broker`` does for ``self.buy()`` / ``self.sell()`` (so results match ``Backtest.run()``);
* commission is a fraction of traded notional, charged at entry and at exit; slippage moves
  each fill price against the trade (buy higher, sell lower) by a fraction of the open;
* trades still open at the end are marked to market in the equity curve, not closed.

The engine keeps one state vector per parameter set and loops over the *k-th position change*
of all sets at once, so its cost grows with the number of trades, not bars x sets.

Modules: :mod:`ml.backtest.config` (:class:`BacktestConfig`, the metric columns), :mod:`ml.backtest.engine` (the
cash/size recursion across sets), :mod:`ml.backtest.performance` (equity and trade metrics),
:mod:`ml.backtest.results` (:class:`BatchResult`, :class:`BacktestResult`), :mod:`ml.backtest.run` (the entry
points: :func:`backtest_batch`, :func:`run_backtest`, :func:`backtest_strategy`, :func:`evaluate_param_sets`).
"""

from ml.backtest.config import METRIC_COLUMNS, BacktestConfig
from ml.backtest.engine import held_rows
from ml.backtest.performance import equity_metrics
from ml.backtest.results import BacktestResult, BatchResult
from ml.backtest.run import (
    backtest_batch,
    backtest_strategy,
    evaluate_param_sets,
    run_backtest,
)

__all__ = [
    "METRIC_COLUMNS",
    "BacktestConfig",
    "BacktestResult",
    "BatchResult",
    "backtest_batch",
    "backtest_strategy",
    "equity_metrics",
    "evaluate_param_sets",
    "held_rows",
    "run_backtest",
]
