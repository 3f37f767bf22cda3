"""Ingestion sources, each returning the raw long frame ``symbol, timeframe, ts, open, ..., volume``.

Values are returned as read (CSV cells stay strings) so the data contract can quarantine a bad cell
with the original value instead of the whole file failing to parse.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ml.datasets import SAMPLE_DATASETS, load_sample
from store.external import read_query

TS_ALIASES = ("ts", "timestamp", "datetime", "date", "time")
FILE_SUFFIXES = (".csv", ".parquet", ".pq")


class SourceError(Exception):
    """A source cannot be read at all (missing path, unreadable file, missing columns)."""


def _standardise(frame: pd.DataFrame, symbol: str | None, timeframe: str, origin: str) -> pd.DataFrame:
    frame = frame.rename(columns=lambda c: str(c).strip().lower())
    if "ts" not in frame.columns:
        alias = next((a for a in TS_ALIASES if a in frame.columns), None)
        if alias is None:
            raise SourceError(f"{origin}: no timestamp column (expected one of {', '.join(TS_ALIASES)})")
        frame = frame.rename(columns={alias: "ts"})
    if "symbol" not in frame.columns:
        if not symbol:
            raise SourceError(f"{origin}: no 'symbol' column and no symbol given")
        frame["symbol"] = symbol
    if "timeframe" not in frame.columns:
        frame["timeframe"] = timeframe
    missing = [c for c in ("open", "high", "low", "close", "volume") if c not in frame.columns]
    if missing:
        raise SourceError(f"{origin}: missing column(s) {', '.join(missing)}")
    return frame[["symbol", "timeframe", "ts", "open", "high", "low", "close", "volume"]]


def holdback_start(bars: pd.DataFrame, timeframe: str, holdback_days: int) -> pd.Timestamp | None:
    """First held-back bar time of a bundled series: the last ``holdback_days`` of a daily series (None: none)."""
    if holdback_days <= 0 or timeframe != "1d" or bars.empty:
        return None
    return bars.index[-1] - pd.Timedelta(days=holdback_days)


def read_sample(symbols: list[str] | None = None, holdback_days: int = 0, held_back: bool = False) -> pd.DataFrame:
    """The bundled real datasets (all four by default) as one raw long frame.

    Args:
        symbols: bundled datasets to read (default: all).
        holdback_days: hold back the last this many days of every daily series (the market replay's year).
        held_back: return only the held-back bars instead of the rest.
    """
    frames = []
    for name in symbols or list(SAMPLE_DATASETS):
        ds = SAMPLE_DATASETS[name.upper()]
        bars = load_sample(ds.symbol)
        start = holdback_start(bars, ds.timeframe, holdback_days)
        if start is not None:
            bars = bars[bars.index > start] if held_back else bars[bars.index <= start]
        elif held_back:
            continue
        bars = bars.reset_index()
        bars.insert(0, "timeframe", ds.timeframe)
        bars.insert(0, "symbol", ds.symbol)
        frames.append(bars)
    if not frames:
        return pd.DataFrame(columns=["symbol", "timeframe", "ts", "open", "high", "low", "close", "volume"])
    return pd.concat(frames, ignore_index=True)


def _read_one(path: Path, symbol: str | None, timeframe: str) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".csv":
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])
        else:
            frame = pd.read_parquet(path)
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as err:
        raise SourceError(f"cannot read {path}: {err}") from err
    if frame.empty and len(frame.columns) == 0:
        raise SourceError(f"{path} is empty")
    return _standardise(frame, symbol or path.stem.upper(), timeframe, str(path))


def read_files(path: str | Path, symbol: str | None = None, timeframe: str = "1d") -> pd.DataFrame:
    """A CSV/Parquet file, or every such file in a folder (symbol defaults to each file's stem)."""
    root = Path(path).expanduser()
    if not root.exists():
        raise SourceError(f"path does not exist: {root}")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in FILE_SUFFIXES) if root.is_dir() else [root]
    if not files:
        raise SourceError(f"no .csv or .parquet files in {root}")
    if root.is_file() and root.suffix.lower() not in FILE_SUFFIXES:
        raise SourceError(f"unsupported file type {root.suffix!r} (use .csv or .parquet)")
    return pd.concat([_read_one(f, symbol, timeframe) for f in files], ignore_index=True)


def read_sql(url: str, query: str, symbol: str | None = None, timeframe: str = "1d") -> pd.DataFrame:
    """Rows of a SQL query on any SQLAlchemy URL."""
    try:
        frame = read_query(url, query)
    except Exception as err:  # driver errors vary by backend; report them as a source error
        raise SourceError(f"SQL source failed: {err}") from err
    return _standardise(frame, symbol, timeframe, "sql query")
