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
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ml import metrics
from ml.strategies import Strategy, get_strategy_class

_FULL_EQUITY = 1 - sys.float_info.epsilon  # backtesting.py's default order size
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


@dataclass
class _Ledger:
    """Per-event state after each fill and the closed trades (internal)."""

    ev_set: np.ndarray
    ev_bar: np.ndarray
    cash: np.ndarray
    size: np.ndarray
    entry: np.ndarray
    trades: dict[str, np.ndarray]


# ------------------------------------------------------------------------------------ engine


def held_rows(positions: np.ndarray) -> np.ndarray:
    """Position held during each bar (after its open) in ``(n_sets, n_bars)`` layout.

    It is the previous bar's target; 0 on the first bar.
    """
    rows = np.ascontiguousarray(np.asarray(positions).T)
    held = np.zeros(rows.shape, dtype=np.int8)
    held[:, 1:] = np.sign(rows[:, :-1])
    return held


def _changes(held: np.ndarray) -> np.ndarray:
    change = np.zeros(held.shape, dtype=bool)
    change[:, 0] = held[:, 0] != 0
    change[:, 1:] = held[:, 1:] != held[:, :-1]
    return change


def _events(change: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(set, bar, ordinal)`` of every position change, sorted by set then bar."""
    ev_set, ev_bar = np.nonzero(change)
    first = np.searchsorted(ev_set, ev_set, side="left")
    return ev_set, ev_bar, np.arange(len(ev_set)) - first


def _entry_units(cash: np.ndarray, price: np.ndarray, cfg: BacktestConfig) -> np.ndarray:
    """All-in order size for ``cash`` at fill ``price``; whole units as backtesting.py does."""
    cash = np.maximum(cash, 0.0)
    if cfg.integer_units:  # _Broker._process_orders: relative order size -> whole units
        per_unit = price + (abs(_FULL_EQUITY) * price * cfg.commission) / abs(_FULL_EQUITY)
        return np.floor((cash * _FULL_EQUITY) // per_unit)
    return cash / (price * (1 + cfg.commission))


def _simulate(open_: np.ndarray, held: np.ndarray, change: np.ndarray, cfg: BacktestConfig) -> _Ledger:
    """Run the cash/size recursion, vectorised across sets, one position change at a time.

    At each change the open trade (if any) is closed at the bar's open and a new all-in trade is
    opened on the new side (if not flat). Only the cash recursion is looped (over the k-th change
    of every set at once); trade records are assembled afterwards in one vectorised pass.
    """
    k = held.shape[0]
    ev_set, ev_bar, ordinal = _events(change)
    n_ev = len(ev_set)
    new_side = held[ev_set, ev_bar].astype(float)
    exit_px = np.zeros(n_ev)
    cash, size, entry = np.full(k, float(cfg.cash)), np.zeros(k), np.zeros(k)
    pre_size, pre_entry = np.zeros(n_ev), np.zeros(n_ev)
    cash_after, size_after, entry_after = np.zeros(n_ev), np.zeros(n_ev), np.zeros(n_ev)
    order = np.argsort(ordinal, kind="stable")
    bounds = np.searchsorted(ordinal[order], np.arange(ordinal.max() + 2)) if n_ev else [0]
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        idx = order[lo:hi]
        s, sz, en = ev_set[idx], size[ev_set[idx]], entry[ev_set[idx]]
        px = open_[ev_bar[idx]] * (1 - np.sign(sz) * cfg.slippage)
        c = cash[s] + (sz * (px - en) - np.abs(sz) * px * cfg.commission)  # close (no-op if flat)
        side = new_side[idx]
        pe = open_[ev_bar[idx]] * (1 + side * cfg.slippage)
        units = np.where(side != 0, _entry_units(c, pe, cfg), 0.0)
        c = c - units * pe * cfg.commission
        pre_size[idx], pre_entry[idx], exit_px[idx] = sz, en, px
        cash[s], size[s], entry[s] = c, side * units, np.where(units != 0, pe, 0.0)
        cash_after[idx], size_after[idx], entry_after[idx] = c, size[s], entry[s]
    closed = np.flatnonzero(pre_size != 0)
    return _Ledger(ev_set, ev_bar, cash_after, size_after, entry_after,
                   _trade_records(closed, ev_set, ev_bar, pre_size, pre_entry, exit_px, cfg))


def _trade_records(closed, ev_set, ev_bar, size, entry, exit_px, cfg: BacktestConfig) -> dict[str, np.ndarray]:
    """Closed trades: each closing event's trade was opened by the set's previous event."""
    size, entry, px = size[closed], entry[closed], exit_px[closed]
    commissions = np.abs(size) * px * cfg.commission + np.abs(size) * entry * cfg.commission
    return {
        "set": ev_set[closed], "entry_bar": ev_bar[closed - 1], "exit_bar": ev_bar[closed], "size": size,
        "entry_price": entry, "exit_price": px, "pnl": size * (px - entry) - commissions,
        "return": np.sign(size) * (px / entry - 1) - commissions / (np.abs(size) * entry),
    }


def _state_rows(ledger: _Ledger, change: np.ndarray, cash0: float) -> tuple[np.ndarray, np.ndarray]:
    """Broadcast the per-event state to ``(n_sets, n_bars)`` matrices (forward fill by repeat).

    Returns:
        ``(base, size)`` such that equity = base + size * close, with
        base = cash - size * entry_price.
    """
    breaks = change.copy()
    breaks[:, 0] = True
    flat = np.flatnonzero(breaks)
    is_event = change.ravel()[flat]  # events and breaks share the row-major order
    base = np.full(len(flat), float(cash0))
    size = np.zeros(len(flat))
    base[is_event] = ledger.cash - ledger.size * ledger.entry
    size[is_event] = ledger.size
    lengths = np.diff(np.append(flat, breaks.size))
    return np.repeat(base, lengths).reshape(change.shape), np.repeat(size, lengths).reshape(change.shape)


# ----------------------------------------------------------------------------------- metrics


def equity_metrics(equity: np.ndarray, periods_per_year: float = 252.0) -> dict[str, np.ndarray]:
    """Total return, annualised Sharpe/Sortino and max drawdown of equity curves.

    Args:
        equity: ``(n_sets, n_bars)`` equity curves (one row per set; a 1-D curve is one set).
        periods_per_year: Bars per year for annualisation.

    Sharpe = mean / std (ddof 1) of per-bar simple returns x sqrt(periods_per_year); Sortino uses
    the root-mean-square of negative returns. Max drawdown is a positive fraction.
    """
    eq = np.atleast_2d(np.asarray(equity, dtype=float))
    if (eq <= 0).any():
        eq = np.maximum(eq, 1e-12)
    rets = eq[:, 1:] / eq[:, :-1]
    rets -= 1.0
    n = rets.shape[1]
    mean = rets.mean(axis=1)
    var = (np.einsum("ij,ij->i", rets, rets) - n * mean**2) / max(n - 1, 1)
    std = np.sqrt(np.maximum(var, 0.0))
    neg = np.minimum(rets, 0.0, out=rets)
    downside = np.sqrt(np.einsum("ij,ij->i", neg, neg) / n)
    ann = np.sqrt(periods_per_year)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(std > 1e-15, mean / std * ann, 0.0)
        sortino = np.where(downside > 1e-15, mean / downside * ann, 0.0)
    return {
        "total_return": eq[:, -1] / eq[:, 0] - 1.0,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown": metrics.max_drawdown(eq),
    }


def _trade_metrics(trades: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    sets = trades["set"].astype(np.int64)
    n_trades = np.bincount(sets, minlength=k)
    wins = np.bincount(sets, weights=(trades["pnl"] > 0).astype(float), minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        win_rate = np.where(n_trades > 0, wins / np.maximum(n_trades, 1), np.nan)
    return {"n_trades": n_trades, "win_rate": win_rate}


# -------------------------------------------------------------------------------------- API


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


def _trades_frame(trades: dict[str, np.ndarray], index: pd.DatetimeIndex) -> pd.DataFrame:
    frame = pd.DataFrame({key: trades[key] for key in trades})
    frame["set"] = frame["set"].astype(np.int64)
    for key in ("entry_bar", "exit_bar"):
        frame[key] = frame[key].astype(np.int64)
    frame.insert(1, "entry_time", index[frame["entry_bar"].to_numpy()])
    frame.insert(2, "exit_time", index[frame["exit_bar"].to_numpy()])
    return frame.sort_values(["set", "entry_bar"], kind="stable").reset_index(drop=True)


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
