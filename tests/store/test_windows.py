"""store.windows: the bar windows of the request path, on the real database (SQLite or PG)."""

from datetime import datetime, timedelta

import pytest

from store.bars import upsert_bars
from store.windows import CachedWindows, NoBarsError, bar_rows, start_for, window_rows
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


def _window_or_error(fn, *args):
    try:
        return fn(*args)
    except NoBarsError as exc:
        return ("error", exc.before)


@pytest.mark.parametrize("keep", [10, 100])  # the cache holds part of the series, or all of it
def test_cached_windows_answer_exactly_what_the_database_does(clean_db, bars, keep):
    """Every mix of origins (latest, inside, before the first bar, after the last) and sizes: the same rows, the
    same errors, whether the cache can answer or falls back."""
    import random

    cache = CachedWindows(clean_db, keep)
    before_first = _ts(bars, 0).replace(year=2000)
    points = [None, before_first, *(_ts(bars, i) for i in (0, 3, 9, 15, 22, 29)), _ts(bars, 29).replace(year=2100)]
    rng = random.Random(7)
    for _ in range(150):
        origins = rng.sample(points, rng.randint(1, 3))
        n = rng.choice([1, 5, 10, 12, 40])
        expected = _window_or_error(window_rows, clean_db, "SYN", "1d", origins, n)
        got = _window_or_error(lambda *a: cache.window(*a).rows, "SYN", "1d", origins, n)
        assert got == expected, (origins, n)
    assert cache.hits > 0 and cache.reads == 1  # one read of the series, every later answer from memory


def test_cached_windows_see_every_write_of_the_series(clean_db, bars):
    cache = CachedWindows(clean_db, 50)
    first = cache.window("SYN", "1d", [None], 5)
    assert first.key is not None and [r[0] for r in first.rows] == [_ts(bars, i) for i in range(25, 30)]
    assert cache.window("SYN", "1d", [None], 5).key == first.key
    corrected = bars.reset_index().iloc[[-1]].assign(close=bars["close"].iloc[-1] * 1.01)
    upsert_bars(clean_db, corrected)  # a correction of the last bar: same timestamps, new values
    after = cache.window("SYN", "1d", [None], 5)
    assert after.key != first.key and after.rows[-1][4] == pytest.approx(corrected["close"].iloc[0])
    upsert_bars(clean_db, corrected.assign(ts=corrected["ts"] + timedelta(days=1)))  # a new bar
    assert cache.window("SYN", "1d", [None], 5).rows[-1][0] == _ts(bars, 29) + timedelta(days=1)
    assert cache.reads == 3
    with pytest.raises(NoBarsError):
        cache.window("NOPE", "1d", [None], 5)
