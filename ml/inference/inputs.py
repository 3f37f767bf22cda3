"""Input checks and JSON-safe outputs shared by :func:`ml.inference.score` and :func:`ml.inference.predict`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ml.datasets import BAR_COLUMNS


class BadInputError(ValueError):
    """Input that cannot be answered; ``field`` names the culprit (``symbol``, ``ts``, ``side``, ...)."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def feature_dicts(frame: pd.DataFrame, positions: Sequence[int]) -> list[dict[str, float | None]]:
    """Rows ``positions`` of a feature frame as JSON-safe dicts (NaN/inf -> None), vectorised."""
    names = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype="float64")[list(positions)]
    finite = np.isfinite(values)
    return [{n: (v if ok else None) for n, v, ok in zip(names, row.tolist(), mask.tolist())}
            for row, mask in zip(values, finite)]


def column(rows: pd.DataFrame, name: str, default: Any = None) -> pd.Series:
    if name in rows.columns:
        return rows[name]
    if default is None:
        raise BadInputError(name, f"missing column {name!r}")
    return pd.Series(default, index=rows.index)


def bars_of(bars: Mapping[str, pd.DataFrame], symbol: str) -> pd.DataFrame:
    frame = bars.get(symbol)
    if frame is None or len(frame) == 0:
        raise BadInputError("bars", f"no bars given for symbol {symbol!r}")
    missing = [c for c in BAR_COLUMNS if c not in frame.columns]
    if missing or not isinstance(frame.index, pd.DatetimeIndex):
        raise BadInputError("bars", f"bars of {symbol!r} need a DatetimeIndex and the columns {BAR_COLUMNS}")
    if not frame.index.is_monotonic_increasing or frame.index.has_duplicates:
        raise BadInputError("bars", f"bars of {symbol!r} must have increasing, unique timestamps")
    return frame


def positions(frame: pd.DataFrame, values: pd.Series, field: str, symbol: str) -> np.ndarray:
    """Positions of the bar timestamps ``values`` in ``frame`` (None/NaT = the last bar)."""
    try:
        times = pd.DatetimeIndex(pd.to_datetime(list(values), utc=True))
    except (TypeError, ValueError) as exc:
        raise BadInputError(field, f"{field} is not a timestamp: {exc}") from None
    times = times.tz_convert(frame.index.tz) if frame.index.tz is not None else times.tz_localize(None)
    pos = frame.index.get_indexer(times)
    pos[times.isna()] = len(frame) - 1
    if (pos < 0).any():
        raise BadInputError(field, f"{field}={times[pos < 0][0]} is not a bar timestamp of {symbol!r}")
    return pos


def groups(*keys: pd.Series) -> dict[tuple, np.ndarray]:
    """Row positions of each distinct combination of ``keys``, in first-seen order (no pandas groupby:
    a batch of one is the common case and this is on every request's path)."""
    out: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(*(k.tolist() for k in keys))):
        out.setdefault(key, []).append(i)
    return {k: np.asarray(v) for k, v in out.items()}
