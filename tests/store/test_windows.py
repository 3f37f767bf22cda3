"""store.windows: the bar windows of the request path, on the real database (SQLite or PG)."""

from datetime import datetime

import pytest

from store.bars import upsert_bars
from store.windows import NoBarsError, bar_rows, start_for, window_rows
from tests.helpers import synthetic_bars


@pytest.fixture
def bars(clean_db):
    frame = synthetic_bars(30).assign(source="test")
    upsert_bars(clean_db, frame)
    return frame.set_index("ts")


def _ts(bars, i: int) -> datetime:
    return bars.index[i].to_pydatetime()


def test_bar_rows_are_plain_tuples_oldest_first(clean_db, bars):
    rows = bar_rows(clean_db, "SYN", "1d")
    assert len(rows) == 30 and [r[0] for r in rows] == [_ts(bars, i) for i in range(30)]
    assert rows[3][1:] == pytest.approx(tuple(bars[["open", "high", "low", "close", "volume"]].iloc[3]))
    last = bar_rows(clean_db, "SYN", "1d", end=_ts(bars, 9), last=4)
    assert [r[0] for r in last] == [_ts(bars, i) for i in range(6, 10)]
    assert len(bar_rows(clean_db, "SYN", "1d", start=_ts(bars, 25))) == 5
    assert bar_rows(clean_db, "SYN", "1h") == []


def test_start_for_is_the_nth_bar_back(clean_db, bars):
    assert start_for(clean_db, "SYN", "1d", _ts(bars, 20), 5) == _ts(bars, 16)
    assert start_for(clean_db, "SYN", "1d", _ts(bars, 2), 5) == _ts(bars, 0)  # fewer bars: the first one
    assert start_for(clean_db, "SYN", "1d", datetime(1990, 1, 1), 5) is None


def test_window_rows_cover_n_bars_up_to_each_origin(clean_db, bars):
    latest = window_rows(clean_db, "SYN", "1d", [None], 5)
    assert [r[0] for r in latest] == [_ts(bars, i) for i in range(25, 30)]
    one = window_rows(clean_db, "SYN", "1d", [_ts(bars, 10)], 3)
    assert [r[0] for r in one] == [_ts(bars, i) for i in (8, 9, 10)]
    span = window_rows(clean_db, "SYN", "1d", [_ts(bars, 12), _ts(bars, 20)], 3)
    assert [r[0] for r in span] == [_ts(bars, i) for i in range(10, 21)]
    mixed = window_rows(clean_db, "SYN", "1d", [_ts(bars, 12), None], 3)  # None = the latest bar
    assert mixed[0][0] == _ts(bars, 10) and mixed[-1][0] == _ts(bars, 29)


def test_window_rows_say_which_bars_are_missing(clean_db, bars):
    with pytest.raises(NoBarsError) as unknown:
        window_rows(clean_db, "NOPE", "1d", [None], 5)
    assert unknown.value.before is None and "'NOPE'" in str(unknown.value)
    early = datetime(1990, 1, 1)
    with pytest.raises(NoBarsError) as before:
        window_rows(clean_db, "SYN", "1d", [early], 5)
    assert before.value.before == early and str(before.value) == "no 1d bars of 'SYN' at or before 1990-01-01T00:00:00"
