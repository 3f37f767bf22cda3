"""The contract applied row by row (:func:`split_valid_invalid`): valid rows, invalid rows with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import pandera.pandas as pa

from data_contracts.bars.columns import KEY, RAW_COLUMNS
from data_contracts.bars.parsing import _coerce
from data_contracts.bars.schemas import RawBarKeySchema, RawBarSchema


@dataclass(frozen=True)
class ContractSplit:
    """Result of applying the raw-bar contract: ``valid`` (typed, sorted) and ``invalid`` (raw + reason)."""

    valid: pd.DataFrame
    invalid: pd.DataFrame
    invalid_positions: tuple[int, ...] = ()  # each invalid row's position in the input, in ``invalid``'s order


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
