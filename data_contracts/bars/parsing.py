"""Typing raw values (numbers, naive UTC microsecond timestamps), noting each value that does not parse."""

from __future__ import annotations

import numpy as np
import pandas as pd

from data_contracts.bars.columns import NUMERIC


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
