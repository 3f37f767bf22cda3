"""Builders of test data shared by several test modules."""

from __future__ import annotations

import numpy as np
import pandas as pd


def synthetic_bars(n: int, symbol: str = "SYN", timeframe: str = "1d", seed: int = 0,
                   start: str = "2020-01-01") -> pd.DataFrame:
    """A valid raw long frame of ``n`` bars (random walk, consistent OHLC)."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.003, n))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    return pd.DataFrame({
        "symbol": symbol, "timeframe": timeframe,
        "ts": pd.date_range(start, periods=n, freq="D" if timeframe == "1d" else "h"),
        "open": open_, "high": high, "low": low, "close": close,
        "volume": rng.integers(1_000, 100_000, n).astype(float),
    })


CORRUPTIONS = ("negative volume", "high < low", "non-numeric price", "duplicate timestamp", "missing close")


def corrupt_csv_frame(n: int = 1000, n_bad: int = 50, seed: int = 1) -> tuple[pd.DataFrame, dict[int, str]]:
    """``n`` rows as CSV strings of which ``n_bad`` are corrupt, 10 of each kind in CORRUPTIONS.

    Returns the frame and {row position: corruption kind}.
    """
    frame = synthetic_bars(n, symbol="CSVX", seed=seed)
    frame["ts"] = frame["ts"].dt.strftime("%Y-%m-%d")
    frame = frame.astype(object)
    rng = np.random.default_rng(seed)
    # spaced rows, so a duplicated timestamp always repeats a valid row's
    rows = np.linspace(5, n - 5, n_bad).astype(int)
    order = rng.permutation(n_bad)
    kinds: dict[int, str] = {}
    for i, row in zip(order, rows):
        kind = CORRUPTIONS[i % len(CORRUPTIONS)]
        kinds[int(row)] = kind
        if kind == "negative volume":
            frame.at[row, "volume"] = -5.0
        elif kind == "high < low":
            frame.at[row, "high"] = float(frame.at[row, "low"]) * 0.9
        elif kind == "non-numeric price":
            frame.at[row, "open"] = "n/a"
        elif kind == "duplicate timestamp":
            frame.at[row, "ts"] = frame.at[row - 1, "ts"]
        elif kind == "missing close":
            frame.at[row, "close"] = None
    return frame, kinds
