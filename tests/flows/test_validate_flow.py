import asyncio
import json

import pytest

from data_contracts.expectations import data_docs_index
from flows.ingest import ingest
from flows.validate import validate
from store import bars as store
from tests.helpers import synthetic_bars


@pytest.fixture
def store_url(clean_db, prefect_harness):
    return clean_db


def _latest_artifact(key: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))

    return asyncio.run(read())


def test_validation_passes_on_sample_and_builds_data_docs(store_url, data_dir):
    ingest(source="sample", symbol="GOOG")
    results = validate()
    assert [(r["symbol"], r["success"]) for r in results] == [("GOOG", True)]
    assert data_docs_index(data_dir).exists()
    html = list(data_docs_index(data_dir).parent.rglob("*.html"))
    assert len(html) > 1
    artifacts = _latest_artifact("bars-validation")
    assert any("| GOOG | 1d | 2148 | ✅" in a.data for a in artifacts)


def test_outlier_return_fails_the_suite(store_url):
    bars = synthetic_bars(300, symbol="JUMP")
    for col in ("open", "high", "low", "close"):
        bars.loc[150:, col] *= 3.0  # a +200% jump: contract-valid rows, an implausible series
    store.upsert_bars(store_url, bars.assign(source="test"))
    [result] = validate()
    assert not result["success"]
    assert any("abs_return" in f for f in result["failed"])
    with pytest.raises(RuntimeError, match="failed validation"):
        validate(fail_on_error=True)


def test_ingest_writes_a_summary_artifact(store_url):
    ingest(source="sample", symbol="SP500")
    artifacts = _latest_artifact("ingest-summary")
    rows = [row for a in artifacts for row in json.loads(a.data)]
    assert any(row["symbol"] == "SP500" and row["inserted"] == 5031 for row in rows)
