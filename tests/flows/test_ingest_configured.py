"""The ``ingest`` flow with ``source="configured"`` (what the scheduled deployment runs)."""

from __future__ import annotations

import asyncio
import json

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort
from sqlalchemy import create_engine

from flows.deployments import DEPLOYMENTS
from flows.ingest import ingest
from ingestion import incremental
from ingestion.sources import SourceError
from store import bars as store
from tests.helpers import synthetic_bars


@pytest.fixture
def store_url(clean_db, prefect_harness):
    return clean_db


def _counts(url: str) -> dict[str, int]:
    counts = store.bar_counts(url)
    return dict(zip(counts["symbol"], counts["rows"], strict=True))


def _summary_rows() -> list[dict]:
    """Rows of the newest ``ingest-summary`` artifact."""
    async def read():
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[
                "ingest-summary"])), sort=ArtifactSort.CREATED_DESC, limit=1)

    [artifact] = asyncio.run(read())
    return json.loads(artifact.data)


def test_the_ingest_deployment_reads_the_configured_sources():
    [spec] = [d for d in DEPLOYMENTS if d.name == "ingest"]
    assert spec.parameters == {"source": "configured"}


def test_configured_sources_are_read_once(store_url, tmp_path, monkeypatch):
    drop = tmp_path / "drop"
    drop.mkdir()
    synthetic_bars(20, symbol="AAA").to_csv(drop / "aaa.csv", index=False)
    platform = f"sqlite:///{tmp_path / 'platform.db'}"
    synthetic_bars(15, symbol="SQLX").to_sql("market_data", create_engine(platform), index=False)
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - {{name: drop, kind: folder, path: {drop}}}\n"
                       f"  - {{name: platform, kind: sql, url: '{platform}', table: market_data}}\n")
    monkeypatch.setenv("ABTPRO_SOURCES_FILE", str(sources))
    first = ingest(source="configured")
    assert {(s.symbol, s.inserted) for s in first} == {("AAA", 20), ("SQLX", 15)}
    assert {(r["source"], r["symbol"], r["inserted"]) for r in _summary_rows()} == {("drop", "AAA", 20),
                                                                                  ("platform", "SQLX", 15)}
    assert ingest(source="configured") == []  # nothing new: nothing read
    assert _counts(store_url) == {"AAA": 20, "SQLX": 15}


def test_one_failing_source_does_not_stop_the_others(store_url, tmp_path, monkeypatch):
    drop = tmp_path / "drop"
    drop.mkdir()
    synthetic_bars(10, symbol="AAA").to_csv(drop / "aaa.csv", index=False)
    sources = tmp_path / "sources.yaml"
    sources.write_text(f"sources:\n  - {{name: gone, kind: folder, path: {tmp_path / 'gone'}}}\n"
                       f"  - {{name: drop, kind: folder, path: {drop}}}\n")
    monkeypatch.setenv("ABTPRO_SOURCES_FILE", str(sources))
    with pytest.raises(SourceError, match="folder does not exist"):
        ingest(source="configured")
    assert _counts(store_url) == {"AAA": 10}


def test_a_bad_sources_file_fails_before_reading(store_url, tmp_path, monkeypatch):
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n  - {name: p, kind: sql, table: t}\n")
    monkeypatch.setenv("ABTPRO_SOURCES_FILE", str(sources))
    with pytest.raises(SourceError, match=r"sources\[0\]\.url: Field required"):
        ingest(source="configured")


def test_without_sources_the_sample_is_read_into_an_empty_store_only(store_url, monkeypatch):
    monkeypatch.delenv("ABTPRO_SOURCES_FILE", raising=False)
    monkeypatch.setattr(incremental, "read_sample", lambda holdback_days=0: synthetic_bars(12, "SP500"))
    [first] = ingest(source="configured")
    assert (first.symbol, first.inserted) == ("SP500", 12)
    assert ingest(source="configured") == []
    assert _counts(store_url) == {"SP500": 12}
