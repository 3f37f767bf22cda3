"""Ingestion flow: read a source -> apply the raw-bar contract -> upsert valid rows, quarantine the rest.

Run it with ``python -m flows.ingest`` (the bundled sample) or ``abtpro ingest --help``.
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from abtpro.settings import get_settings
from flows.common import IO_RETRIES, IO_RETRY_DELAY_SECONDS, retry_unless_permanent
from ingestion import events, intake, sources

SOURCES = ("sample", "file", "sql")


SymbolIngest = intake.SeriesIntake  # per-series outcome of one ingestion run (older name)


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, retry_condition_fn=retry_unless_permanent,
      cache_policy=NO_CACHE)
def read_source(source: str, path: str | None, query: str | None, source_url: str | None,
                symbol: str | None, timeframe: str, holdback_days: int = 0) -> pd.DataFrame:
    """Read the raw rows of one source (retried on transient I/O errors)."""
    if source == "sample":
        return sources.read_sample([symbol] if symbol else None, holdback_days=holdback_days)
    if source == "file":
        if not path:
            raise sources.SourceError("source 'file' needs a path")
        return sources.read_files(path, symbol=symbol, timeframe=timeframe)
    if source == "sql":
        if not (query and source_url):
            raise sources.SourceError("source 'sql' needs a query and a source_url")
        return sources.read_sql(source_url, query, symbol=symbol, timeframe=timeframe)
    raise sources.SourceError(f"unknown source {source!r}; choose from {', '.join(SOURCES)}")


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def store_bars(url: str, raw: pd.DataFrame, source_name: str, chunk_rows: int) -> intake.Intake:
    """Contract, upsert the valid rows and quarantine the rest with reasons (idempotent: a re-run stores nothing twice)."""
    return intake.accept_bars(url, raw, source_name, chunk_rows)


def _source_name(source: str, path: str | None, query: str | None) -> str:
    return {"sample": "sample", "file": f"file:{path}", "sql": f"sql:{query}"}[source][:500]


@flow(name="ingest", log_prints=True)
def ingest(source: str = "sample", path: str | None = None, query: str | None = None,
           source_url: str | None = None, symbol: str | None = None, timeframe: str = "1d",
           holdback_days: int = 0) -> list[SymbolIngest]:
    """Ingest market bars from ``source`` into the store.

    Args:
        source: ``sample`` (bundled real data), ``file`` (CSV/Parquet file or folder) or ``sql``.
        path: file or folder, for ``file``.
        query: SQL query, for ``sql``.
        source_url: SQLAlchemy URL the query runs on, for ``sql``.
        symbol: only this sample dataset, or the symbol of a file/query without a ``symbol`` column.
        timeframe: timeframe of a file/query without a ``timeframe`` column.
        holdback_days: ``sample`` only: leave out the last this many days of every daily series (what
            ``abtpro replay`` pushes later).

    Returns:
        One summary per (symbol, timeframe): rows read, inserted, merged, quarantined and the bar range.
        What arrived is also emitted as the Prefect event ``abtpro.bars.arrived``.
    """
    settings = get_settings()
    logger = get_run_logger()
    name = _source_name(source, path, query)
    raw = read_source(source, path, query, source_url, symbol, timeframe, holdback_days)
    logger.info("read %d rows from %s", len(raw), name)
    result = store_bars(settings.db_url, raw, name, settings.ingest_chunk_rows)
    logger.info("stored %d rows (%d new), quarantined %d (%d new)", result.stored, result.inserted,
                result.quarantined, result.newly_quarantined)
    events.emit_arrival(result, source)
    create_table_artifact(key="ingest-summary", table=[asdict(s) for s in result.series],
                          description=f"Ingestion from `{name}`: rows read, inserted, merged, quarantined")
    return result.series


if __name__ == "__main__":
    ingest()
