"""The pandera schemas: a raw bar row, unique raw keys, and a single series in the ``ml`` bars convention."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from data_contracts.bars.columns import CONTROL, KEY, NUMERIC


class RawBarSchema(pa.DataFrameModel):
    """One OHLCV bar per row; unique (symbol, timeframe, ts)."""

    symbol: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": 32})
    timeframe: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": 8})
    ts: Series[pd.Timestamp]
    open: Series[float] = pa.Field(gt=0)
    high: Series[float] = pa.Field(gt=0)
    low: Series[float] = pa.Field(gt=0)
    close: Series[float] = pa.Field(gt=0)
    volume: Series[float] = pa.Field(ge=0)

    @pa.check("symbol", "timeframe", name="no control characters")
    def printable(cls, series: Series[str]) -> Series[bool]:
        bad = [v for v in series.unique() if isinstance(v, str) and CONTROL.search(v)]  # few distinct labels
        return ~series.isin(bad)

    @pa.check(*NUMERIC, name="finite")
    def finite(cls, series: Series[float]) -> Series[bool]:
        return pd.Series(np.isfinite(series.to_numpy(dtype="float64")), index=series.index)

    @pa.dataframe_check(name="high >= max(open, close)")
    def high_covers_body(cls, df: pd.DataFrame) -> Series[bool]:
        return df["high"] >= df[["open", "close"]].max(axis=1)

    @pa.dataframe_check(name="high >= low")
    def high_above_low(cls, df: pd.DataFrame) -> Series[bool]:
        return df["high"] >= df["low"]

    @pa.dataframe_check(name="low <= min(open, close)")
    def low_under_body(cls, df: pd.DataFrame) -> Series[bool]:
        return df["low"] <= df[["open", "close"]].min(axis=1)

    class Config:
        strict = False


class RawBarKeySchema(pa.DataFrameModel):
    """Among row-valid bars, each (symbol, timeframe, ts) appears once; later repeats are rejected."""

    @pa.dataframe_check(name="unique timestamp per symbol")
    def unique_timestamp(cls, df: pd.DataFrame) -> Series[bool]:
        return ~df.duplicated(KEY, keep="first")

    class Config:
        strict = False


class BarsFrameSchema(pa.DataFrameModel):
    """A single series in the ``ml`` bars convention: strictly increasing unique ``ts`` index."""

    ts: pa.typing.Index[pd.Timestamp] = pa.Field(unique=True)
    open: Series[float] = pa.Field(gt=0)
    high: Series[float] = pa.Field(gt=0)
    low: Series[float] = pa.Field(gt=0)
    close: Series[float] = pa.Field(gt=0)
    volume: Series[float] = pa.Field(ge=0)

    @pa.dataframe_check(name="strictly increasing ts")
    def increasing(cls, df: pd.DataFrame) -> bool:
        return bool(df.index.is_monotonic_increasing and df.index.is_unique)

    @pa.dataframe_check(name="high >= max(open, close) and low <= min(open, close)")
    def ohlc_consistent(cls, df: pd.DataFrame) -> Series[bool]:
        return (df["high"] >= df[["open", "close"]].max(axis=1)) & (df["low"] <= df[["open", "close"]].min(axis=1))
