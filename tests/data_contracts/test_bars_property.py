"""Property: whatever the raw rows hold, the contract + store keep only sound bars and lose no row.

Every field of every row may be replaced by an arbitrary number (±inf, NaN, huge, negative), text
(garbage, spellings of inf/NaN, empty), None or a bad timestamp, and timestamps repeat. After the
ingestion path (contract split, quarantine, per-series upsert) on the real store, every stored bar is
finite, positive, OHLC-consistent with volume >= 0, and stored + quarantined == rows read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.bars import NUMERIC, RAW_COLUMNS, ContractSplit, split_valid_invalid
from store import bars as store
from tests.conftest import empty_tables

SOURCE = "file:property.csv"
TIMESTAMPS = [*pd.date_range("2021-03-01", periods=6, freq="D"),
              pd.Timestamp("2021-03-01 00:00:00.000000001"), pd.Timestamp("2021-03-01 00:00:00.000001")]
NUMBER_TEXT = ["inf", "-inf", "+inf", "Infinity", "-Infinity", "INF", "nan", "NaN", "NAN", "-nan", "1e999",
               "-1e999", "1e308", "0", "-0", "-1", "", " ", "1,5", "12abc", "0x10", "None", "null"]
TS_TEXT = ["not-a-date", "2021-02-30", "", "0", "2021-03-01T00:00:00+02:00", "9999-12-31", "1500-01-01",
           "nan"]

numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30),
                    st.sampled_from([np.inf, -np.inf, np.nan, 1e308, -1e308, 0.0, -0.0, 5e-324]))
anything = st.one_of(numbers, st.text(max_size=12), st.sampled_from(NUMBER_TEXT), st.none(),
                     numbers.map(str), st.booleans())
WILD = {
    "symbol": st.one_of(st.text(max_size=40), st.sampled_from(["", " ", "A\x00", "X" * 33, "nan"]), anything),
    "timeframe": st.one_of(st.text(max_size=10), st.sampled_from(["", "1d ", "15min_long"]), anything),
    "ts": st.one_of(st.sampled_from(TS_TEXT), st.text(max_size=20), anything,
                    st.sampled_from(TIMESTAMPS).map(lambda t: t.isoformat())),
    **{col: anything for col in NUMERIC},
}


@st.composite
def raw_row(draw) -> dict:
    """A valid bar with a random subset of its fields replaced by arbitrary values."""
    open_, close = draw(st.floats(0.01, 1e6)), draw(st.floats(0.01, 1e6))
    spread = draw(st.floats(0.0, 0.5))
    row = {"symbol": draw(st.sampled_from(["AAA", "BBB", " CCC "])),
           "timeframe": draw(st.sampled_from(["1d", "1h"])), "ts": draw(st.sampled_from(TIMESTAMPS)), "open": open_, "close": close,
           "high": max(open_, close) * (1 + spread), "low": min(open_, close) * (1 - spread),
           "volume": draw(st.floats(0, 1e12))}
    for field in draw(st.sets(st.sampled_from(RAW_COLUMNS), max_size=3)):
        row[field] = draw(WILD[field])
    if draw(st.booleans()):  # as a CSV source reads it: every cell text
        row = {k: (None if v is None else str(v)) for k, v in row.items()}
    return row


frames = st.lists(raw_row(), max_size=25).map(lambda rows: pd.DataFrame(rows, columns=RAW_COLUMNS))


def _store(url: str, split: ContractSplit) -> None:
    """The store half of ``flows.ingest`` without Prefect: quarantine the invalid rows, upsert each series."""
    store.quarantine_rows(url, split.invalid, SOURCE)
    for _, series in split.valid.groupby(["symbol", "timeframe"]):
        store.upsert_bars(url, series.assign(source=SOURCE))


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=frames, typed=st.booleans())
def test_stored_bars_are_sound_and_no_row_is_lost(db_url, raw, typed):
    if typed:  # as a Parquet source reads it: float columns (NaN, ±inf kept as floats)
        raw = raw.assign(**{c: pd.to_numeric(raw[c], errors="coerce") for c in NUMERIC})
    empty_tables(db_url)
    split = split_valid_invalid(raw)
    _store(db_url, split)
    counts = store.bar_counts(db_url)
    for symbol, timeframe in zip(counts["symbol"], counts["timeframe"]):
        bars = store.read_bars(db_url, symbol, timeframe)
        assert np.isfinite(bars.to_numpy()).all()
        assert (bars[["open", "high", "low", "close"]] > 0).all().all() and (bars["volume"] >= 0).all()
        assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
        assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
        assert (bars["high"] >= bars["low"]).all()
    assert int(counts["rows"].sum()) + store.quarantine_count(db_url, SOURCE) == len(raw)
    _store(db_url, split)  # the same rows again: nothing stored or quarantined twice
    assert int(store.bar_counts(db_url)["rows"].sum()) + store.quarantine_count(db_url, SOURCE) == len(raw)
