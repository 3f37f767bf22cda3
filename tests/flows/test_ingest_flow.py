from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine

from flows.ingest import ingest
from ingest.sources import SourceError
from store import bars as store
from tests.helpers import corrupt_csv_frame, synthetic_bars

SAMPLE_ROWS = {"SP500": 5031, "NASDAQ": 5031, "GOOG": 2148, "EURUSD": 5000}


@pytest.fixture
def store_url(clean_db, prefect_harness):
    return clean_db


def _counts(url: str) -> dict[str, int]:
    counts = store.bar_counts(url)
    return dict(zip(counts["symbol"], counts["rows"]))


def test_sample_ingest_is_idempotent(store_url):
    first = ingest(source="sample")
    assert {s.symbol: s.inserted for s in first} == SAMPLE_ROWS
    assert _counts(store_url) == SAMPLE_ROWS
    second = ingest(source="sample")
    assert {s.symbol: s.inserted for s in second} == dict.fromkeys(SAMPLE_ROWS, 0)
    assert {s.symbol: s.merged for s in second} == SAMPLE_ROWS
    assert _counts(store_url) == SAMPLE_ROWS
    assert {s.symbol: s.timeframe for s in first}["EURUSD"] == "1h"


def test_corrupt_csv_keeps_valid_rows_and_quarantines_the_rest(store_url, tmp_path):
    frame, _ = corrupt_csv_frame(1000, 50)
    path = tmp_path / "csvx.csv"
    frame.to_csv(path, index=False)
    [summary] = ingest(source="file", path=str(path))
    assert (summary.read, summary.inserted, summary.quarantined) == (1000, 950, 50)
    assert _counts(store_url) == {"CSVX": 950}
    assert store.quarantine_count(store_url, f"file:{path}") == 50
    # re-ingesting the same file adds no bars
    [again] = ingest(source="file", path=str(path))
    assert again.inserted == 0 and _counts(store_url) == {"CSVX": 950}


def test_folder_of_csv_and_parquet_with_symbol_from_file_name(store_url, tmp_path):
    synthetic_bars(40, symbol="IGNORED").drop(columns=["symbol"]).to_csv(tmp_path / "aaa.csv", index=False)
    synthetic_bars(30, symbol="BBB", seed=2).to_parquet(tmp_path / "bbb.parquet")
    (tmp_path / "notes.txt").write_text("not data")
    ingest(source="file", path=str(tmp_path))
    assert _counts(store_url) == {"AAA": 40, "BBB": 30}


def test_sql_source(store_url, tmp_path):
    src = f"sqlite:///{tmp_path / 'src.db'}"
    synthetic_bars(25, symbol="SQLX").rename(columns={"ts": "date"}).to_sql("prices", create_engine(src), index=False)
    [summary] = ingest(source="sql", source_url=src, query="SELECT * FROM prices")
    assert summary.inserted == 25 and _counts(store_url) == {"SQLX": 25}


@pytest.mark.parametrize("content", [None, b"\x00\xff\xfe garbage \x00" * 10])
def test_missing_or_unreadable_file_fails_clearly_and_writes_nothing(store_url, tmp_path, content):
    path = tmp_path / "bad.parquet"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match="does not exist|cannot read"):
        ingest(source="file", path=str(path))
    assert _counts(store_url) == {}
    assert store.quarantine_count(store_url) == 0


def test_overlapping_files_merge(store_url, tmp_path):
    bars = synthetic_bars(100, symbol="OVL")
    bars.iloc[:60].to_csv(tmp_path / "part1.csv", index=False)
    bars.iloc[40:].to_csv(tmp_path / "part2.csv", index=False)
    [first] = ingest(source="file", path=str(tmp_path / "part1.csv"))
    [second] = ingest(source="file", path=str(tmp_path / "part2.csv"))
    assert (first.inserted, second.inserted, second.merged) == (60, 40, 20)
    stored = store.read_bars(store_url, "OVL", "1d")
    assert len(stored) == 100
    pd.testing.assert_series_equal(stored["close"].reset_index(drop=True), bars["close"], check_names=False)
    assert Path(tmp_path / "part1.csv").exists()
