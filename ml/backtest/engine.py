"""The engine: held positions, position changes, the cash/size recursion across sets and the state per bar."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np

from ml.backtest.config import BacktestConfig

_FULL_EQUITY = 1 - sys.float_info.epsilon  # backtesting.py's default order size



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

