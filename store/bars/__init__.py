"""Bulk I/O of market bars and quarantined rows (Core statements, never row-by-row ORM adds).

Modules: :mod:`store.bars.columns` (the key, value and stored columns of a bar),
:mod:`store.bars.backends` (the bulk upsert of each backend: SQLite executemany, PostgreSQL COPY),
:mod:`store.bars.writes` (:func:`upsert_bars` and the series revision it touches, the row-by-row baseline),
:mod:`store.bars.quarantine` (rows that failed a contract: keys, JSON-ready raw values, counts),
:mod:`store.bars.reads` (a stored series, the rows per series).
"""

from store.bars.columns import BAR_KEY, BAR_VALUES, STORED_COLUMNS
from store.bars.quarantine import jsonable_raw, quarantine_count, quarantine_keys, quarantine_rows
from store.bars.reads import bar_counts, read_bars
from store.bars.writes import UpsertResult, insert_bars_row_by_row, touch_series, upsert_bars

__all__ = [
    "BAR_KEY",
    "BAR_VALUES",
    "STORED_COLUMNS",
    "UpsertResult",
    "bar_counts",
    "insert_bars_row_by_row",
    "jsonable_raw",
    "quarantine_count",
    "quarantine_keys",
    "quarantine_rows",
    "read_bars",
    "touch_series",
    "upsert_bars",
]
