"""Rows that failed a data contract: stored verbatim once (stable keys), as strict JSON, and counted."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from store.db import get_engine
from store.models import QuarantinedRow, utcnow


def quarantine_rows(url: str, rows: pd.DataFrame, source: str) -> int:
    """Store rows that failed a contract verbatim, each with its ``reason`` column, unless already stored.

    Each row is keyed by :func:`quarantine_keys`, so quarantining the same rows of the same source again
    (re-ingesting a bad file) adds nothing, while identical rows within one read are each kept.

    Returns:
        The number of rows newly added to the quarantine.
    """
    if rows.empty:
        return 0
    now = utcnow()
    raws, reasons = [], []
    for rec in rows.to_dict("records"):
        reasons.append(str(rec.pop("reason")))
        raws.append(jsonable_raw(rec))
    records = [{"row_key": key, "source": source, "symbol": _label(raw.get("symbol")), "raw": raw,
                "reason": reason, "created_at": now}
               for key, raw, reason in zip(quarantine_keys(source, raws), raws, reasons)]
    engine = get_engine(url)
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(QuarantinedRow).on_conflict_do_nothing(index_elements=["row_key"])
    count = select(func.count()).select_from(QuarantinedRow).where(QuarantinedRow.source == source)
    with engine.begin() as conn:
        before = int(conn.execute(count).scalar_one())
        conn.execute(stmt, records)
        return int(conn.execute(count).scalar_one()) - before


def quarantine_keys(source: str, raws: list[dict]) -> list[str]:
    """The stable key of each quarantined row: sha256 of its source, its raw values and its occurrence.

    Args:
        source: the source the rows were read from.
        raws: the JSON-ready raw values of each row, in read order.

    Returns:
        One hex digest per row; the n-th copy of an identical raw row gets occurrence n, so a read that
        repeats a bad row keeps every copy and a later read of the same rows maps onto the same keys.
    """
    seen: dict[str, int] = {}
    keys = []
    for raw in raws:
        text = json.dumps(raw, sort_keys=True, separators=(",", ":"), allow_nan=False, default=str)
        seen[text] = seen.get(text, 0) + 1
        keys.append(hashlib.sha256(f"{source}\n{text}\n{seen[text]}".encode()).hexdigest())
    return keys


def jsonable_raw(raw: dict) -> dict:
    """Raw cells as strict JSON values: missing -> None, non-finite floats and other objects -> text."""
    return {str(k): _jsonable(v) for k, v in raw.items()}


def _label(value: object) -> str | None:
    """A raw symbol as a bounded text column (PostgreSQL text refuses NUL)."""
    return None if value is None else str(value).replace("\x00", "")[:32]


def _jsonable(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, (pd.Timestamp, datetime)):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, float):
        return value if math.isfinite(value) else (None if math.isnan(value) else str(value))
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return str(value)


def quarantine_count(url: str, source: str | None = None) -> int:
    """Quarantined rows in the store, optionally for one source."""
    stmt = select(func.count()).select_from(QuarantinedRow)
    if source is not None:
        stmt = stmt.where(QuarantinedRow.source == source)
    with get_engine(url).connect() as conn:
        return int(conn.execute(stmt).scalar_one())
