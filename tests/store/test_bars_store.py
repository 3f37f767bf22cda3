import pandas as pd
from sqlalchemy import select

from store import bars as store
from store.db import get_engine
from store.models import QuarantinedRow
from tests.helpers import synthetic_bars


def _stored(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(source="test")


def test_upsert_is_idempotent(clean_db):
    frame = _stored(synthetic_bars(200))
    first = store.upsert_bars(clean_db, frame)
    again = store.upsert_bars(clean_db, frame)
    assert (first.inserted, first.merged) == (200, 0)
    assert (again.inserted, again.merged) == (0, 200)
    assert store.bar_counts(clean_db)["rows"].tolist() == [200]


def test_overlapping_ranges_merge_and_update_values(clean_db):
    full = _stored(synthetic_bars(150))
    store.upsert_bars(clean_db, full.iloc[:100])
    later = full.iloc[50:].copy()
    later.loc[later.index[0], "close"] = later["close"].iloc[0] * 1.01  # a corrected bar
    later.loc[later.index[0], "high"] = max(later["high"].iloc[0], later["close"].iloc[0])
    result = store.upsert_bars(clean_db, later)
    assert (result.inserted, result.merged) == (50, 50)
    bars = store.read_bars(clean_db, "SYN", "1d")
    assert len(bars) == 150
    assert bars["close"].iloc[50] == later["close"].iloc[0]
    assert bars.index.is_monotonic_increasing and bars.index.is_unique


def test_read_bars_roundtrip_and_window(clean_db):
    frame = synthetic_bars(30)
    store.upsert_bars(clean_db, _stored(frame))
    bars = store.read_bars(clean_db, "SYN", "1d")
    pd.testing.assert_frame_equal(
        bars, frame.set_index("ts")[["open", "high", "low", "close", "volume"]], check_freq=False, check_names=False)
    assert len(store.read_bars(clean_db, "SYN", "1d", last=5)) == 5
    assert store.read_bars(clean_db, "SYN", "1d", last=5).index[-1] == frame["ts"].iloc[-1]
    window = store.read_bars(clean_db, "SYN", "1d", start=frame["ts"].iloc[10], end=frame["ts"].iloc[19])
    assert len(window) == 10


def test_symbols_do_not_collide(clean_db):
    store.upsert_bars(clean_db, _stored(synthetic_bars(10, symbol="A")))
    store.upsert_bars(clean_db, _stored(synthetic_bars(10, symbol="B")))
    store.upsert_bars(clean_db, _stored(synthetic_bars(10, symbol="A", timeframe="1h")))
    counts = store.bar_counts(clean_db)
    assert counts[["symbol", "timeframe", "rows"]].values.tolist() == [["A", "1d", 10], ["A", "1h", 10], ["B", "1d", 10]]


def test_quarantine_keeps_raw_values_and_reason(clean_db):
    bad = pd.DataFrame({"symbol": ["X"], "ts": ["2020-01-01"], "open": ["n/a"], "close": [None], "reason": ["open: bad"]})
    assert store.quarantine_rows(clean_db, bad, "file:x.csv") == 1
    with get_engine(clean_db).connect() as conn:
        row = conn.execute(select(QuarantinedRow)).one()
    assert row.reason == "open: bad" and row.source == "file:x.csv" and row.symbol == "X"
    assert row.raw == {"symbol": "X", "ts": "2020-01-01", "open": "n/a", "close": None}
    assert store.quarantine_count(clean_db, "file:x.csv") == 1


def _bad_rows() -> pd.DataFrame:
    return pd.DataFrame({"symbol": ["X", "X", "X", "Y"], "timeframe": ["1d"] * 4,
                         "ts": ["2020-01-01", "2020-01-02", "2020-01-02", "2020-01-01"],
                         "open": ["inf", "n/a", "n/a", float("-inf")],
                         "close": [1.0, float("nan"), float("nan"), 2],
                         "reason": ["open: not finite ('inf')", "open: not a number ('n/a')",
                                    "open: not a number ('n/a')", "open: not finite (-inf)"]})


def test_quarantine_is_idempotent_and_keeps_identical_rows_of_one_read(clean_db):
    assert store.quarantine_rows(clean_db, _bad_rows(), "file:x.csv") == 4
    assert store.quarantine_rows(clean_db, _bad_rows(), "file:x.csv") == 0
    assert store.quarantine_rows(clean_db, _bad_rows().iloc[:2], "file:x.csv") == 0
    assert store.quarantine_count(clean_db, "file:x.csv") == 4
    # the same rows from another source are another source's quarantine
    assert store.quarantine_rows(clean_db, _bad_rows(), "file:y.csv") == 4
    assert store.quarantine_count(clean_db) == 8


def test_quarantined_non_finite_values_are_kept_as_text(clean_db):
    store.quarantine_rows(clean_db, _bad_rows(), "file:x.csv")
    with get_engine(clean_db).connect() as conn:
        raws = [r.raw for r in conn.execute(select(QuarantinedRow).order_by(QuarantinedRow.id))]
    assert [r["open"] for r in raws] == ["inf", "n/a", "n/a", "-inf"]
    assert raws[1]["close"] is None and raws[3]["close"] == 2


def test_quarantine_keys_are_stable_and_count_repeats():
    raws = [{"a": 1}, {"a": 1}, {"a": 2}]
    keys = store.quarantine_keys("s", raws)
    assert keys == store.quarantine_keys("s", raws) and len(set(keys)) == 3
    assert keys[0] == store.quarantine_keys("s", [{"a": 1}])[0]
    assert keys[0] != store.quarantine_keys("t", [{"a": 1}])[0]


def test_row_by_row_baseline_writes_the_same_bars(clean_db):
    frame = _stored(synthetic_bars(20))
    assert store.insert_bars_row_by_row(clean_db, frame) == 20
    bars = store.read_bars(clean_db, "SYN", "1d")
    pd.testing.assert_frame_equal(
        bars, frame.set_index("ts")[["open", "high", "low", "close", "volume"]], check_freq=False, check_names=False)
