"""store.ledger (file ledger, watermarks) and store.external.read_since (the watermark query), on the session
database (SQLite, or PostgreSQL with DATABASE_URL) and on a platform table in SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from store import external, ledger
from store.bars import upsert_bars
from tests.helpers import synthetic_bars
from tests.platform import KINDS, append_rows, platform_database

VALUES = {f: f for f in ("open", "high", "low", "close", "volume")}


def test_known_files_keeps_the_newest_content_per_path(clean_db):
    assert ledger.known_files(clean_db, "drop") == {}
    ledger.record_file(clean_db, "drop", "/d/a.csv", "a" * 64, 10, 5)
    ledger.record_file(clean_db, "drop", "/d/b.csv", "b" * 64, 10, 5)
    ledger.record_file(clean_db, "drop", "/d/a.csv", "c" * 64, 12, 6)  # a.csv changed
    assert ledger.known_files(clean_db, "drop") == {"/d/a.csv": "c" * 64, "/d/b.csv": "b" * 64}
    ledger.record_file(clean_db, "drop", "/d/a.csv", "a" * 64, 10, 5)  # ... and changed back: no duplicate key
    assert ledger.known_files(clean_db, "drop")["/d/a.csv"] == "a" * 64
    assert ledger.known_files(clean_db, "other") == {}


def test_watermarks_only_move_forward_per_series(clean_db):
    jan, feb = datetime(2024, 1, 31), datetime(2024, 2, 29, 15, 30)
    ledger.advance_watermark(clean_db, "platform", {("AAA", "1d"): jan, ("BBB", "1h"): feb})
    ledger.advance_watermark(clean_db, "platform", {("AAA", "1d"): feb, ("BBB", "1h"): jan})
    ledger.advance_watermark(clean_db, "platform", {})
    assert ledger.watermarks(clean_db, "platform") == {("AAA", "1d"): feb, ("BBB", "1h"): feb}
    assert ledger.watermarks(clean_db, "elsewhere") == {}


def test_has_bars(clean_db):
    assert not ledger.has_bars(clean_db)
    upsert_bars(clean_db, synthetic_bars(3).assign(source="t"))
    assert ledger.has_bars(clean_db)


@pytest.fixture(params=KINDS)
def platform_url(request, tmp_path):
    with platform_database(request.param, tmp_path) as url:
        yield url


def test_read_since_reads_only_rows_newer_than_each_watermark(platform_url):
    bars = pd.concat([synthetic_bars(10, "AAA"), synthetic_bars(10, "BBB", seed=1)], ignore_index=True)
    append_rows(platform_url, bars)
    cols = ("market_data", "ts", VALUES, "symbol", "timeframe")
    assert len(external.read_since(platform_url, *cols)) == 20
    since = {("AAA", "1d"): datetime(2020, 1, 7)}  # AAA: 2020-01-01 .. 01-10; BBB has no watermark
    got = external.read_since(platform_url, *cols, since=since)
    assert sorted(got.loc[got["symbol"] == "AAA", "ts"].astype(str).str[:10]) == ["2020-01-08", "2020-01-09",
                                                                                   "2020-01-10"]
    assert (got["symbol"] == "BBB").sum() == 10
    assert list(got.columns) == ["ts", "open", "high", "low", "close", "volume", "symbol", "timeframe"]


def test_read_since_quotes_identifiers_and_binds_values(platform_url):
    bars = synthetic_bars(5, "AAA").rename(columns={"close": "Close Price", "ts": "Time"})
    append_rows(platform_url, bars, "Bars Table", ts="Time")
    hostile = {("x'); DROP TABLE \"Bars Table\"; --", "1d"): datetime(2030, 1, 1)}
    got = external.read_since(platform_url, "Bars Table", "Time", {**VALUES, "close": "Close Price"}, "symbol",
                              "timeframe", since=hostile)
    assert len(got) == 5 and got["close"].notna().all()
    assert len(external.read_since(platform_url, "Bars Table", "Time", {**VALUES, "close": "Close Price"},
                                   "symbol", None, since={("AAA", "ignored"): datetime(2020, 1, 3)})) == 2


def test_read_since_keeps_rows_with_a_null_key_or_timestamp(platform_url):
    bars = synthetic_bars(4, "AAA").astype({"symbol": object})
    bars.loc[1, "symbol"] = None
    bars["ts"] = bars["ts"].astype(object)
    bars.loc[2, "ts"] = None
    append_rows(platform_url, bars.assign(ts=pd.to_datetime(bars["ts"])))
    got = external.read_since(platform_url, "market_data", "ts", VALUES, "symbol", "timeframe",
                              since={("AAA", "1d"): datetime(2030, 1, 1)})
    assert len(got) == 2  # the NULL-symbol and NULL-ts rows: for the contract to quarantine, not lost
