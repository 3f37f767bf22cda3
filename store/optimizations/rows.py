"""Strict-JSON payloads (:func:`jsonable`) and the row helpers: record view, timestamp, row by id."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from store.models import StrategyOptimization, utcnow
from store.optimizations.record import Optimization


def jsonable(value: Any) -> Any:
    """``value`` made strict-JSON safe: numpy scalars -> Python, timestamps -> ISO, NaN/inf -> None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)) and getattr(value, "ndim", 0) == 0:
        value = value.item()  # numpy / pandas scalars
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    return str(value)


def _view(row: StrategyOptimization) -> Optimization:
    return Optimization(row.id, row.user_id, row.strategy, row.symbol, row.timeframe, row.method,
                        dict(row.original_params or {}), dict(row.optimized_params or {}),
                        dict(row.performance or {}), row.created_at)


def _now() -> str:
    return utcnow().isoformat()


def _get_row(session, optimization_id: int) -> StrategyOptimization:
    row = session.get(StrategyOptimization, optimization_id)
    if row is None:
        raise KeyError(f"no StrategyOptimization row with id {optimization_id}")
    return row

