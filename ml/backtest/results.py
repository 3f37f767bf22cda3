"""The results: many position columns (:class:`BatchResult`) and one backtest (:class:`BacktestResult`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml.backtest.config import METRIC_COLUMNS


@dataclass
class BatchResult:
    """Backtests of many position columns on the same bars.

    Attributes:
        metrics: One row per set: total_return, sharpe, sortino, max_drawdown, win_rate,
            exposure, n_trades, final_equity.
        equity: ``(n_bars, n_sets)`` equity curves.
        index: Timestamps of the evaluated bars.
    """

    metrics: pd.DataFrame
    equity: np.ndarray
    index: pd.DatetimeIndex
    raw_trades: dict[str, np.ndarray]

    @property
    def trades(self) -> pd.DataFrame:
        """Closed trades of all sets (column ``set`` says which), built on demand."""
        return _trades_frame(self.raw_trades, self.index)


@dataclass
class BacktestResult:
    """One backtest: equity curve, closed trades and summary metrics."""

    equity: pd.Series
    trades: pd.DataFrame
    total_return: float
    sharpe: float
    sortino: float
    max_drawdown: float
    win_rate: float
    exposure: float
    n_trades: int
    final_equity: float

    def metrics(self) -> dict[str, float]:
        """Return the summary metrics as a dict."""
        return {name: getattr(self, name) for name in METRIC_COLUMNS}



def _trades_frame(trades: dict[str, np.ndarray], index: pd.DatetimeIndex) -> pd.DataFrame:
    frame = pd.DataFrame({key: trades[key] for key in trades})
    frame["set"] = frame["set"].astype(np.int64)
    for key in ("entry_bar", "exit_bar"):
        frame[key] = frame[key].astype(np.int64)
    frame.insert(1, "entry_time", index[frame["entry_bar"].to_numpy()])
    frame.insert(2, "exit_time", index[frame["exit_bar"].to_numpy()])
    return frame.sort_values(["set", "entry_bar"], kind="stable").reset_index(drop=True)

