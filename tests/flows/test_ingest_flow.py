from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import create_engine, select

from flows.ingest import ingest
from ingestion.sources import SourceError
from store import bars as store
from store.db import get_engine
from store.models import QuarantinedRow
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


def test_non_finite_values_are_quarantined_once_naming_the_column(store_url, tmp_path):
    frame = synthetic_bars(20, symbol="INFX").astype(object)
    spelled = {2: ("close", "inf"), 5: ("open", "-Infinity"), 8: ("volume", "NaN"), 11: ("high", "nan"),
               14: ("low", "1e999")}
    for row, (column, text) in spelled.items():
        frame.loc[row, column] = text
    path = tmp_path / "infx.csv"
    frame.to_csv(path, index=False)
    [summary] = ingest(source="file", path=str(path))
    assert (summary.read, summary.inserted, summary.quarantined) == (20, 15, 5)
    assert np.isfinite(store.read_bars(store_url, "INFX", "1d").to_numpy()).all()
    [again] = ingest(source="file", path=str(path))
    assert (again.inserted, again.quarantined) == (0, 5)
    assert store.quarantine_count(store_url, f"file:{path}") == 5
    with get_engine(store_url).connect() as conn:
        reasons = sorted(conn.execute(select(QuarantinedRow.reason)).scalars())
    assert reasons == sorted(f"{c}: not finite ({t!r})" for c, t in spelled.values())


def test_parquet_infinity_and_nan_are_quarantined(store_url, tmp_path):
    frame = synthetic_bars(10, symbol="PQX")
    frame.loc[1, "high"] = np.inf
    frame.loc[4, "volume"] = -np.inf
    frame.loc[7, "close"] = np.nan
    frame.to_parquet(tmp_path / "pqx.parquet")
    [summary] = ingest(source="file", path=str(tmp_path / "pqx.parquet"))
    assert (summary.inserted, summary.quarantined) == (7, 3)
    ingest(source="file", path=str(tmp_path / "pqx.parquet"))
    assert store.quarantine_count(store_url) == 3
    assert np.isfinite(store.read_bars(store_url, "PQX", "1d").to_numpy()).all()
