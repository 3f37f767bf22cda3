"""Real market data bundled inside installed packages (no network).

Every bars frame in ``ml`` follows one convention: a ``DatetimeIndex`` named ``ts`` (naive UTC,
strictly increasing) and float64 columns ``open, high, low, close, volume``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

BAR_COLUMNS = ["open", "high", "low", "close", "volume"]


@dataclass(frozen=True)
class SampleDataset:
    """A bundled real dataset: where it comes from and how it is keyed in the store."""

    symbol: str
    timeframe: str
    origin: str
    loader: Callable[[], pd.DataFrame]


def _arch(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import importlib

        return importlib.import_module(f"arch.data.{name}").load()

    return load


def _backtesting(name: str) -> Callable[[], pd.DataFrame]:
    def load() -> pd.DataFrame:
        import backtesting.test

        return getattr(backtesting.test, name).copy()

    return load


SAMPLE_DATASETS: dict[str, SampleDataset] = {
    ds.symbol: ds
    for ds in (
        SampleDataset("SP500", "1d", "arch.data.sp500", _arch("sp500")),
        SampleDataset("NASDAQ", "1d", "arch.data.nasdaq", _arch("nasdaq")),
        SampleDataset("GOOG", "1d", "backtesting.test.GOOG", _backtesting("GOOG")),
        SampleDataset("EURUSD", "1h", "backtesting.test.EURUSD", _backtesting("EURUSD")),
    )
}

DAILY_SAMPLES = ("SP500", "NASDAQ", "GOOG")


def normalise_bars(raw: pd.DataFrame) -> pd.DataFrame:
    """Return ``raw`` in the bars convention (lower-case OHLCV columns, ``ts`` index, float64)."""
    frame = raw.rename(columns=str.lower)[BAR_COLUMNS].astype("float64")
    frame.index = pd.DatetimeIndex(frame.index, name="ts")
    return frame.sort_index()


def load_sample(symbol: str) -> pd.DataFrame:
    """Load one bundled dataset (``SP500``, ``NASDAQ``, ``GOOG``, ``EURUSD``) as a bars frame."""
    try:
        dataset = SAMPLE_DATASETS[symbol.upper()]
    except KeyError:
        raise KeyError(f"unknown sample dataset {symbol!r}; choose from {sorted(SAMPLE_DATASETS)}") from None
    return normalise_bars(dataset.loader())
