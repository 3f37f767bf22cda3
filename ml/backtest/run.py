"""The entry points: a batch of position columns, one position series, a strategy, many parameter sets."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.backtest.config import METRIC_COLUMNS, BacktestConfig
from ml.backtest.engine import _changes, _simulate, _state_rows, held_rows
from ml.backtest.performance import _trade_metrics, equity_metrics
from ml.backtest.results import BacktestResult, BatchResult
from ml.strategies import Strategy, get_strategy_class


def backtest_batch(bars: pd.DataFrame, positions: np.ndarray, config: BacktestConfig | None = None,
                   start: int = 0) -> BatchResult:
    """Backtest every column of ``positions`` (``(n_bars, n_sets)`` targets in {-1, 0, +1}).

    Args:
        bars: Bars frame (``open`` and ``close`` are used).
        positions: Target positions decided at each bar's close.
        config: Costs and accounting; defaults to :class:`BacktestConfig`.
        start: First bar of the evaluated window; earlier bars only warm indicators up
            (``positions`` must still cover all bars).

    Returns:
        A :class:`BatchResult`.
    """
    cfg = config or BacktestConfig()
    pos = np.asarray(positions)
    pos = pos[:, None] if pos.ndim == 1 else pos
    open_ = bars["open"].to_numpy(float)[start:]
    close = bars["close"].to_numpy(float)[start:]
    held = held_rows(pos[start:])
    change = _changes(held)
    ledger = _simulate(open_, held, change, cfg)
    base, size = _state_rows(ledger, change, float(cfg.cash))
    equity = base + size * close[None, :]
    metrics = equity_metrics(equity, cfg.periods_per_year)
    metrics.update(_trade_metrics(ledger.trades, held.shape[0]))
    metrics["exposure"] = np.count_nonzero(size, axis=1) / size.shape[1]
    metrics["final_equity"] = equity[:, -1]
    return BatchResult(pd.DataFrame(metrics)[METRIC_COLUMNS], equity.T, bars.index[start:], ledger.trades)



def run_backtest(bars: pd.DataFrame, positions: pd.Series | np.ndarray, config: BacktestConfig | None = None,
                 start: int = 0) -> BacktestResult:
    """Backtest one position series; see :func:`backtest_batch` for the execution model."""
    batch = backtest_batch(bars, np.asarray(positions).reshape(-1, 1), config, start)
    row = batch.metrics.iloc[0]
    trades = batch.trades.drop(columns="set")
    equity = pd.Series(batch.equity[:, 0], index=bars.index[start:], name="equity")
    return BacktestResult(
        equity=equity, trades=trades, total_return=float(row.total_return), sharpe=float(row.sharpe),
        sortino=float(row.sortino), max_drawdown=float(row.max_drawdown), win_rate=float(row.win_rate),
        exposure=float(row.exposure), n_trades=int(row.n_trades), final_equity=float(row.final_equity),
    )


def backtest_strategy(bars: pd.DataFrame, strategy: Strategy, config: BacktestConfig | None = None,
                      start: int = 0) -> BacktestResult:
    """Backtest ``strategy.positions(bars)``."""
    return run_backtest(bars, strategy.positions(bars).to_numpy(), config, start)


def evaluate_param_sets(bars: pd.DataFrame, strategy: str | type[Strategy], param_sets: list[dict],
                        config: BacktestConfig | None = None, start: int = 0) -> pd.DataFrame:
    """Metrics of many parameter sets of one strategy in one vectorised pass.

    Returns:
        One row per parameter set (same order): the parameters then the metric columns.
    """
    cls = get_strategy_class(strategy) if isinstance(strategy, str) else strategy
    result = backtest_batch(bars, cls.positions_batch(bars, param_sets), config, start)
    return pd.concat([pd.DataFrame(param_sets), result.metrics], axis=1)

