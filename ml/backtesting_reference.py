"""backtesting.py's canonical SMA crossover, the reference our vectorised backtester is checked against.

Used by the equivalence test and by ``benchmarks/bench_backtest.py``: ``Backtest(GOOG, SmaCross,
cash=10_000, commission=0.002)`` with ``run(n1=fast, n2=slow)`` / ``optimize(n1=..., n2=...)``.
"""

from __future__ import annotations

from backtesting import Strategy
from backtesting.lib import crossover
from backtesting.test import SMA


class SmaCross(Strategy):
    """backtesting.py's README example: flip long/short when the fast SMA crosses the slow one."""

    n1 = 10
    n2 = 20

    def init(self):
        self.sma1 = self.I(SMA, self.data.Close, self.n1)
        self.sma2 = self.I(SMA, self.data.Close, self.n2)

    def next(self):
        if crossover(self.sma1, self.sma2):
            self.position.close()
            self.buy()
        elif crossover(self.sma2, self.sma1):
            self.position.close()
            self.sell()
