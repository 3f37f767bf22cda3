"""Metrics of equity curves (return, Sharpe, Sortino, drawdown) and of closed trades (count, win rate)."""

from __future__ import annotations

import numpy as np

from ml import metrics


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

