"""Incremental sources, exactly once: folder drop by content hash, SQL table by watermark, the first-run sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, select

from abtpro.settings import get_settings
from ingestion import incremental
from ingestion.config import FolderSource, SqlSource
from store import bars as store
from store import ledger
from store.db import get_engine
from store.models import QuarantinedRow
from tests.helpers import corrupt_csv_frame, synthetic_bars
from tests.platform import KINDS, append_rows, platform_database


def _counts(url: str) -> dict[str, int]:
    counts = store.bar_counts(url)
    return dict(zip(counts["symbol"], counts["rows"], strict=True))


@pytest.fixture
def drop(tmp_path: Path) -> FolderSource:
    folder = tmp_path / "drop"
    folder.mkdir()
    return FolderSource(name="drop", kind="folder", path=folder)


def _two_files(folder: Path) -> None:
    synthetic_bars(40).drop(columns=["symbol"]).to_csv(folder / "aaa.csv", index=False)
    synthetic_bars(30, symbol="BBB", seed=2).to_parquet(folder / "bbb.parquet")
    (folder / "notes.txt").write_text("not data")
    (folder / ".partial.csv").write_text("ts,open\n")  # hidden: a copy in progress


def test_two_new_files_are_read_once(clean_db, drop):
    _two_files(drop.path)
    first = incremental.ingest_folder(clean_db, drop)
    assert (first.files_read, first.intake.read, first.intake.inserted) == (2, 70, 70)
    assert _counts(clean_db) == {"AAA": 40, "BBB": 30}
    second = incremental.ingest_folder(clean_db, drop)
    assert (second.files_read, second.files_skipped, second.intake.read) == (0, 2, 0)
    assert second.intake.series == []
    assert set(ledger.known_files(clean_db, "drop")) == {str((drop.path / n).resolve())
                                                         for n in ("aaa.csv", "bbb.parquet")}


def test_a_changed_file_is_read_again(clean_db, drop):
    _two_files(drop.path)
    incremental.ingest_folder(clean_db, drop)
    synthetic_bars(50).drop(columns=["symbol"]).to_csv(drop.path / "aaa.csv", index=False)  # 10 bars appended
    again = incremental.ingest_folder(clean_db, drop)
    [aaa] = again.intake.series
    assert (again.files_read, aaa.symbol, aaa.read, aaa.inserted, aaa.merged) == (1, "AAA", 50, 10, 40)
    assert _counts(clean_db) == {"AAA": 50, "BBB": 30}


def test_a_restart_keeps_the_ledger(clean_db, drop):
    _two_files(drop.path)
    incremental.ingest_folder(clean_db, drop)
    get_engine(clean_db).dispose()  # a new process: no engine, no settings, only the database
    get_engine.cache_clear()
    url = get_settings().db_url
    assert url == clean_db
    after = incremental.ingest_folder(url, FolderSource(name="drop", kind="folder", path=str(drop.path)))
    assert (after.files_read, after.intake.read) == (0, 0)


def test_a_killed_run_rerun_stores_every_row_once(clean_db, drop, monkeypatch):
    _two_files(drop.path)

    def killed(*_args, **_kwargs):
        raise KeyboardInterrupt("killed after the rows were stored, before the ledger write")

    with monkeypatch.context() as patch:
        patch.setattr(ledger, "record_file", killed)
        with pytest.raises(KeyboardInterrupt):
            incremental.ingest_folder(clean_db, drop)
    assert _counts(clean_db) == {"AAA": 40, "BBB": 30}
    assert ledger.known_files(clean_db, "drop") == {}
    rerun = incremental.ingest_folder(clean_db, drop)
    assert (rerun.files_read, rerun.intake.read, rerun.intake.inserted) == (2, 70, 0)
    assert _counts(clean_db) == {"AAA": 40, "BBB": 30}
    assert len(ledger.known_files(clean_db, "drop")) == 2


def test_invalid_rows_of_a_dropped_file_are_quarantined_with_reasons(clean_db, drop):
    frame, _ = corrupt_csv_frame(1000, 50)
    frame.to_csv(drop.path / "csvx.csv", index=False)
    run = incremental.ingest_folder(clean_db, drop)
    [series] = run.intake.series
    assert (series.read, series.inserted, series.quarantined) == (1000, 950, 50)
    assert _counts(clean_db) == {"CSVX": 950}
    with get_engine(clean_db).connect() as conn:
        rows = conn.execute(select(QuarantinedRow.source, QuarantinedRow.reason)).all()
    assert len(rows) == 50 and {s for s, _ in rows} == {"drop:csvx.csv"}
    reasons = " | ".join(reason for _, reason in rows)
    assert all(reason for _, reason in rows)
    assert all(field in reasons for field in ("volume", "open: not a number", "close"))
    assert set(run.intake.rejected["origin"]) == {"drop:csvx.csv"}
    assert incremental.ingest_folder(clean_db, drop).intake.read == 0  # read once, bad rows included


def test_an_unreadable_file_is_reported_and_left_for_the_next_run(clean_db, drop):
    _two_files(drop.path)
    (drop.path / "broken.csv").write_text("when,price\n1,2\n")  # no timestamp / OHLCV columns
    run = incremental.ingest_folder(clean_db, drop)
    assert run.files_read == 2 and len(run.errors) == 1 and "broken.csv" in run.errors[0]
    assert _counts(clean_db) == {"AAA": 40, "BBB": 30}
    synthetic_bars(5, symbol="BROKEN").to_csv(drop.path / "broken.csv", index=False)  # fixed
    fixed = incremental.ingest_folder(clean_db, drop)
    assert (fixed.files_read, fixed.errors, fixed.intake.inserted) == (1, [], 5)


@pytest.fixture(params=KINDS)
def platform(request, tmp_path):
    """The platform's market-data table (SQLite or private PostgreSQL) and its source spec."""
    with platform_database(request.param, tmp_path) as url:
        yield url, SqlSource(name="platform", kind="sql", url=url, table="market_data")


def test_sql_watermark_reads_only_newer_rows(clean_db, platform):
    url, spec = platform
    aaa, bbb = synthetic_bars(60, "AAA"), synthetic_bars(40, "BBB", timeframe="1h", seed=3)
    append_rows(url, pd.concat([aaa.iloc[:50], bbb.iloc[:30]], ignore_index=True))
    first = incremental.ingest_sql(clean_db, spec)
    assert (first.intake.read, first.intake.inserted) == (80, 80)
    marks = ledger.watermarks(clean_db, "platform")
    assert marks == {("AAA", "1d"): aaa["ts"][49].to_pydatetime(), ("BBB", "1h"): bbb["ts"][29].to_pydatetime()}
    assert incremental.ingest_sql(clean_db, spec).intake.read == 0
    append_rows(url, pd.concat([aaa.iloc[50:], bbb.iloc[30:]], ignore_index=True))
    get_engine.cache_clear()  # a restart between the runs: the watermarks are in the database
    second = incremental.ingest_sql(clean_db, spec)
    assert {(s.symbol, s.read, s.inserted, s.merged) for s in second.intake.series} == {("AAA", 10, 10, 0),
                                                                                       ("BBB", 10, 10, 0)}
    assert _counts(clean_db) == {"AAA": 60, "BBB": 40}
    assert ledger.watermarks(clean_db, "platform")[("AAA", "1d")] == aaa["ts"][59].to_pydatetime()


def test_sql_watermark_stops_at_the_newest_valid_row(clean_db, platform):
    url, spec = platform
    bars = synthetic_bars(10, "AAA")
    bars.loc[9, "volume"] = -1.0  # the newest row is invalid
    append_rows(url, bars)
    run = incremental.ingest_sql(clean_db, spec)
    assert (run.intake.inserted, run.intake.quarantined) == (9, 1)
    assert ledger.watermarks(clean_db, "platform") == {("AAA", "1d"): bars["ts"][8].to_pydatetime()}
    again = incremental.ingest_sql(clean_db, spec)  # the bad row is read (and quarantined) again, nothing else
    assert (again.intake.read, again.intake.quarantined, again.intake.inserted) == (1, 1, 0)
    assert store.quarantine_count(clean_db, "platform") == 1


def test_sql_source_with_a_fixed_symbol_and_renamed_columns(clean_db, tmp_path):
    url = f"sqlite:///{tmp_path / 'p.db'}"
    bars = synthetic_bars(8, "X").drop(columns=["symbol", "timeframe"]).rename(columns={"ts": "at", "close": "px"})
    bars.to_sql("eurusd", create_engine(url), index=False)
    spec = SqlSource(name="fx", kind="sql", url=url, table="eurusd", ts_column="at", symbol_column=None,
                     timeframe_column=None, symbol="EURUSD", timeframe="1h", columns={"close": "px"})
    assert incremental.ingest_sql(clean_db, spec).intake.inserted == 8
    assert ledger.watermarks(clean_db, "fx") == {("EURUSD", "1h"): bars["at"][7].to_pydatetime()}
    assert incremental.ingest_sql(clean_db, spec).intake.read == 0


def test_the_sample_is_only_the_first_run_default(clean_db, monkeypatch):
    monkeypatch.setattr(incremental, "read_sample", lambda holdback_days=0: synthetic_bars(20, "SP500"))
    first = incremental.ingest_default_sample(clean_db)
    assert first is not None and first.intake.inserted == 20
    assert incremental.ingest_default_sample(clean_db) is None  # the store holds bars: nothing read
    assert _counts(clean_db) == {"SP500": 20}


def test_a_killed_sql_run_rerun_stores_every_row_once(clean_db, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    append_rows(url, synthetic_bars(12, "AAA"))
    spec = SqlSource(name="platform", kind="sql", url=url, table="market_data")
    with monkeypatch.context() as patch:
        patch.setattr(ledger, "advance_watermark", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
        with pytest.raises(KeyboardInterrupt):
            incremental.ingest_sql(clean_db, spec)
    assert ledger.watermarks(clean_db, "platform") == {} and _counts(clean_db) == {"AAA": 12}
    rerun = incremental.ingest_sql(clean_db, spec)
    assert (rerun.intake.read, rerun.intake.inserted, rerun.intake.stored) == (12, 0, 12)
    assert _counts(clean_db) == {"AAA": 12} and incremental.ingest_sql(clean_db, spec).intake.read == 0


def test_arrival_is_announced_once_per_source_before_the_ledger_moves(clean_db, drop, monkeypatch):
    _two_files(drop.path)
    calls = []
    monkeypatch.setattr(incremental.events, "emit_arrival",
                        lambda intake, kind: calls.append(("emit", kind, intake.source, intake.inserted)))
    record = ledger.record_file
    monkeypatch.setattr(ledger, "record_file", lambda url, source, path, *rest: (calls.append(("record", source)),
                                                                                record(url, source, path, *rest)))
    incremental.ingest_folder(clean_db, drop)
    assert calls == [("emit", "folder", "drop", 70), ("record", "drop"), ("record", "drop")]


def test_intake_names_each_rejected_row_by_its_position_in_the_input(clean_db):
    import pandas as pd

    from ingestion.intake import accept_bars

    raw = pd.DataFrame({"symbol": ["POS"] * 4, "timeframe": "1d",
                        "ts": ["2020-01-01", "2020-01-02", "garbage", "2020-01-04"],
                        "open": [1, 1, 1, 1], "high": [2, 0.5, 2, 2], "low": [0.5, 0.4, 0.5, 0.5],
                        "close": [1, 1, 1, 1], "volume": [1, 1, 1, 1]})
    result = accept_bars(clean_db, raw, "test:positions")
    assert result.rejected["row"].tolist() == [1, 2]
    assert result.inserted == 2 and result.quarantined == 2
