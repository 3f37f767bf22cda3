"""Contracts for raw market bars, applied row-wise: valid rows go on, invalid rows go to quarantine.

Raw input is the long frame ``symbol, timeframe, ts, open, high, low, close, volume`` as read from a
source (values may still be strings). :func:`split_valid_invalid` coerces types, runs
:class:`RawBarSchema` lazily and returns the valid rows plus every invalid row with a ``reason``
naming each failed check. A number that parses to ±inf or NaN (``inf``, ``-Infinity``, ``nan``, ``1e999``,
a NaN typed as text) is quarantined as ``<column>: not finite (<value>)``; a missing cell (empty, null,
a float NaN in a typed column, which pandas cannot tell from null) as ``<column>: not_nullable``. Given the
caller's clock (``now``, naive UTC), a bar stamped after it is quarantined as ``ts: in the future (...)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

KEY = ["symbol", "timeframe", "ts"]
PRICES = ["open", "high", "low", "close"]
NUMERIC = [*PRICES, "volume"]
RAW_COLUMNS = [*KEY, *NUMERIC]
CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # not in a symbol/timeframe (PostgreSQL text refuses NUL)


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


@dataclass(frozen=True)
class ContractSplit:
    """Result of applying the raw-bar contract: ``valid`` (typed, sorted) and ``invalid`` (raw + reason)."""

    valid: pd.DataFrame
    invalid: pd.DataFrame
    invalid_positions: tuple[int, ...] = ()  # each invalid row's position in the input, in ``invalid``'s order


def _floor_us(stamps: pd.Series) -> pd.Series:
    """``stamps.dt.floor("us")``, also for stamps within a microsecond of pandas' range (where ``floor`` overflows):
    integer flooring of the nanoseconds, NaT kept."""
    try:
        return stamps.dt.floor("us")
    except OverflowError:
        ns = stamps.to_numpy(dtype="datetime64[ns]").view("int64")
        edge = stamps.isna().to_numpy() | (ns < np.iinfo(np.int64).min + 1000)  # NaT, or flooring would wrap
        floored = np.where(edge, ns, ns - np.mod(ns, 1000))
        return pd.Series(floored.view("datetime64[ns]"), index=stamps.index, name=stamps.name)


def _parse(raw: pd.Series, col: str) -> pd.Series:
    """Typed column: already-typed input passes through untouched (fast path for big frames).

    Timestamps become naive UTC at the store's resolution, microseconds, so two stamps the store would
    merge are already one key to the duplicate check.
    """
    if col == "ts":
        if not pd.api.types.is_datetime64_any_dtype(raw):  # (a bool column comes back tz-naive, all NaT)
            raw = pd.to_datetime(raw, errors="coerce", utc=True, format="mixed")
        if getattr(raw.dt, "tz", None) is not None:
            raw = raw.dt.tz_convert(None)
        return _floor_us(raw) if raw.dt.unit == "ns" else raw
    if pd.api.types.is_float_dtype(raw):
        return raw.astype("float64")
    return pd.to_numeric(raw, errors="coerce").astype("float64")


def _is_nan_text(value: object) -> bool:
    """``"nan"``, ``"NaN"``, ``"-nan"`` ...: text spelling NaN (``to_numeric`` makes it NaN, as garbage)."""
    try:
        return isinstance(value, str) and np.isnan(float(value))
    except ValueError:
        return False


def _coerce(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """Parse numbers and timestamps; note which non-empty values could not be parsed or are not finite."""
    reasons: dict[int, list[str]] = {}
    frame = pd.DataFrame(index=raw.index)
    for col in ("symbol", "timeframe"):
        text = raw[col] if pd.api.types.is_string_dtype(raw[col]) else raw[col].astype("string")
        frame[col] = text.str.strip().astype(object).where(raw[col].notna(), None)
    for col in ["ts", *NUMERIC]:
        frame[col] = _parse(raw[col], col)
        lost = frame[col].isna() & raw[col].notna()
        infinite = pd.Series(False, index=raw.index) if col == "ts" else frame[col].isin([np.inf, -np.inf])
        for idx in raw.index[lost | infinite]:
            value = raw.at[idx, col]
            shown = repr(value) if isinstance(value, str) else str(value)  # numpy 2 reprs wrap floats
            if col != "ts" and (infinite[idx] or _is_nan_text(value)):
                reasons.setdefault(idx, []).append(f"{col}: not finite ({shown})")
            elif str(value).strip():
                kind = "not a timestamp" if col == "ts" else "not a number"
                reasons.setdefault(idx, []).append(f"{col}: {kind} ({shown})")
    return frame, reasons


def _schema_reasons(schema: type[pa.DataFrameModel], frame: pd.DataFrame) -> dict[int, list[str]]:
    reasons: dict[int, list[str]] = {}
    try:
        schema.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        cases = err.failure_cases.dropna(subset=["index"])
        for row in cases.itertuples(index=False):
            text = row.check if row.schema_context == "DataFrameSchema" else f"{row.column}: {row.check}"
            bucket = reasons.setdefault(int(row.index), [])
            if text not in bucket:
                bucket.append(text)
    return reasons


def _future_reasons(frame: pd.DataFrame, now: datetime) -> dict[int, list[str]]:
    """``ts: in the future`` for every row stamped after ``now`` (naive UTC, or aware: converted)."""
    limit = pd.Timestamp(now)
    if limit.tzinfo is not None:
        limit = limit.tz_convert("UTC").tz_localize(None)
    late = frame["ts"].notna() & (frame["ts"] > limit)
    shown = limit.floor("s").isoformat()
    return {int(idx): [f"ts: in the future ({pd.Timestamp(frame.at[idx, 'ts']).isoformat()} > clock {shown})"]
            for idx in frame.index[late]}


def split_valid_invalid(raw: pd.DataFrame, now: datetime | None = None) -> ContractSplit:
    """Apply the raw-bar contract row by row.

    Args:
        raw: long frame with at least the columns ``symbol, timeframe, ts, open, high, low, close,
            volume`` (any dtype). A missing column is a source error, raised as ``ValueError``.
        now: the clock (naive UTC) no bar may be stamped after; None: no such check.

    Returns:
        ``valid``: typed rows sorted by (symbol, timeframe, ts), keys unique; ``invalid``: the raw values
        of every other row plus ``reason`` (each failed check, ``; ``-separated). Every input row is in
        exactly one of the two.
    """
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"input is missing required column(s): {', '.join(missing)}")
    raw = raw.reset_index(drop=True)
    frame, reasons = _coerce(raw)
    # Row checks first; the key check then runs on the rows that passed them, so a corrupt first
    # occurrence does not push its valid twin into quarantine.
    for idx, texts in _schema_reasons(RawBarSchema, frame.drop(index=list(reasons))).items():
        reasons[idx] = texts
    if now is not None:
        for idx, texts in _future_reasons(frame.drop(index=list(reasons)), now).items():
            reasons[idx] = texts
    for idx, texts in _schema_reasons(RawBarKeySchema, frame.drop(index=list(reasons))).items():
        reasons[idx] = texts
    bad = pd.Index(sorted(reasons), dtype="int64")
    invalid = raw.loc[bad].copy()
    invalid["reason"] = ["; ".join(reasons[i]) for i in bad]
    valid = frame.drop(index=bad).sort_values(KEY, kind="stable").reset_index(drop=True)
    return ContractSplit(valid=valid, invalid=invalid.reset_index(drop=True),
                         invalid_positions=tuple(int(i) for i in bad))
