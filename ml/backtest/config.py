"""Costs and accounting of a backtest (:class:`BacktestConfig`) and the metric columns it reports."""

from __future__ import annotations

from dataclasses import dataclass

METRIC_COLUMNS = [
    "total_return", "sharpe", "sortino", "max_drawdown", "win_rate", "exposure", "n_trades", "final_equity",
]


@dataclass(frozen=True)
class BacktestConfig:
    """Costs and accounting of a backtest.

    Attributes:
        cash: Starting equity.
        commission: Commission as a fraction of traded notional (per fill).
        slippage: Adverse fill-price move as a fraction of the open (per fill).
        integer_units: Trade whole units (``backtesting.py``-compatible) instead of fractional.
        periods_per_year: Bars per year, to annualise Sharpe and Sortino.
    """

    cash: float = 10_000.0
    commission: float = 0.0
    slippage: float = 0.0
    integer_units: bool = False
    periods_per_year: float = 252.0

