"""Ingestion flow: read a source -> apply the raw-bar contract -> upsert valid rows, quarantine the rest.

Run it with ``python -m flows.ingest`` (the bundled sample) or ``abtpro ingest --help``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from abtpro.settings import get_settings
from data_contracts.bars import ContractSplit, split_valid_invalid
from flows.common import IO_RETRIES, IO_RETRY_DELAY_SECONDS, retry_unless_permanent
from ingestion import sources
from store import bars as store

SOURCES = ("sample", "file", "sql")


@dataclass(frozen=True)
class SymbolIngest:
    """Per-series outcome of one ingestion run."""

    symbol: str
    timeframe: str
    read: int
    inserted: int
    merged: int
    quarantined: int


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, retry_condition_fn=retry_unless_permanent,
      cache_policy=NO_CACHE)
def read_source(source: str, path: str | None, query: str | None, source_url: str | None,
                symbol: str | None, timeframe: str) -> pd.DataFrame:
    """Read the raw rows of one source (retried on transient I/O errors)."""
    if source == "sample":
        return sources.read_sample([symbol] if symbol else None)
    if source == "file":
        if not path:
            raise sources.SourceError("source 'file' needs a path")
        return sources.read_files(path, symbol=symbol, timeframe=timeframe)
    if source == "sql":
        if not (query and source_url):
            raise sources.SourceError("source 'sql' needs a query and a source_url")
        return sources.read_sql(source_url, query, symbol=symbol, timeframe=timeframe)
    raise sources.SourceError(f"unknown source {source!r}; choose from {', '.join(SOURCES)}")


@task(cache_policy=NO_CACHE)
def apply_contract(raw: pd.DataFrame) -> ContractSplit:
    """Split rows into valid and invalid (with reasons) by the raw-bar contract."""
    return split_valid_invalid(raw)


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def upsert_series(url: str, valid: pd.DataFrame, source_name: str, chunk_rows: int) -> store.UpsertResult:
    """Upsert the valid rows of one series (idempotent)."""
    return store.upsert_bars(url, valid.assign(source=source_name), chunk_rows=chunk_rows)


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def quarantine(url: str, invalid: pd.DataFrame, source_name: str) -> int:
    """Store every invalid row with its reason, once: returns how many were not quarantined already."""
    return store.quarantine_rows(url, invalid, source_name)


def _source_name(source: str, path: str | None, query: str | None) -> str:
    return {"sample": "sample", "file": f"file:{path}", "sql": f"sql:{query}"}[source][:500]


def _summaries(raw: pd.DataFrame, split: ContractSplit, results: dict, n_quarantined: dict) -> list[SymbolIngest]:
    out = []
    for (symbol, timeframe), n_read in raw.groupby(["symbol", "timeframe"], dropna=False).size().items():
        res = results.get((symbol, timeframe), store.UpsertResult(0, 0))
        out.append(SymbolIngest(str(symbol), str(timeframe), int(n_read), res.inserted, res.merged,
                                n_quarantined.get((symbol, timeframe), 0)))
    return out


@flow(name="ingest", log_prints=True)
def ingest(source: str = "sample", path: str | None = None, query: str | None = None,
           source_url: str | None = None, symbol: str | None = None, timeframe: str = "1d") -> list[SymbolIngest]:
    """Ingest market bars from ``source`` into the store.

    Args:
        source: ``sample`` (bundled real data), ``file`` (CSV/Parquet file or folder) or ``sql``.
        path: file or folder, for ``file``.
        query: SQL query, for ``sql``.
        source_url: SQLAlchemy URL the query runs on, for ``sql``.
        symbol: only this sample dataset, or the symbol of a file/query without a ``symbol`` column.
        timeframe: timeframe of a file/query without a ``timeframe`` column.

    Returns:
        One summary per (symbol, timeframe): rows read, inserted, merged and quarantined.
    """
    settings = get_settings()
    logger = get_run_logger()
    name = _source_name(source, path, query)
    raw = read_source(source, path, query, source_url, symbol, timeframe)
    logger.info("read %d rows from %s", len(raw), name)
    split = apply_contract(raw)
    logger.info("contract: %d valid, %d quarantined", len(split.valid), len(split.invalid))
    n_quarantined: dict = {}
    if len(split.invalid):
        added = quarantine(settings.db_url, split.invalid, name)
        logger.info("quarantine: %d new rows (%d already there)", added, len(split.invalid) - added)
        n_quarantined = split.invalid.groupby(["symbol", "timeframe"], dropna=False).size().to_dict()
    results = {key: upsert_series(settings.db_url, group, name, settings.ingest_chunk_rows)
               for key, group in split.valid.groupby(["symbol", "timeframe"])}
    summary = _summaries(raw, split, results, n_quarantined)
    create_table_artifact(key="ingest-summary", table=[asdict(s) for s in summary],
                          description=f"Ingestion from `{name}`: rows read, inserted, merged, quarantined")
    return summary


if __name__ == "__main__":
    ingest()
