"""Ingestion flow: read a source -> apply the raw-bar contract -> upsert valid rows, quarantine the rest.

Run it with ``python -m flows.ingest`` (the bundled sample) or ``abtpro ingest --help``. The scheduled
``ingest`` deployment runs ``source="configured"``: the incremental sources of the sources file
(:mod:`ingestion.incremental`; folder drops by file ledger, SQL tables by watermark).
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from abtpro.settings import Settings, get_settings
from flows.common import IO_RETRIES, IO_RETRY_DELAY_SECONDS, retry_unless_permanent
from ingestion import events, incremental, intake, sources

SOURCES = ("sample", "file", "sql", "configured")


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


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, retry_condition_fn=retry_unless_permanent,
      cache_policy=NO_CACHE, task_run_name="ingest-{spec.name}")
def ingest_configured_source(url: str, spec: incremental.FolderSource | incremental.SqlSource,
                             chunk_rows: int) -> incremental.SourceRun:
    """New data of one configured source, stored, announced, then marked read (a retry re-reads nothing twice)."""
    return incremental.ingest_source(url, spec, chunk_rows)


def ingest_configured(settings: Settings, holdback_days: int) -> list[incremental.SourceRun]:
    """Every configured source (the bundled sample into an empty store when none is configured)."""
    logger = get_run_logger()
    specs = incremental.configured_sources(settings)
    if specs is None:
        first = incremental.ingest_default_sample(settings.db_url, holdback_days, settings.ingest_chunk_rows)
        if first is None:
            logger.info("no sources configured (settings.sources_file, docs/sources.md): nothing read")
        return [first] if first else []
    states = [ingest_configured_source(settings.db_url, spec, settings.ingest_chunk_rows, return_state=True)
              for spec in specs]
    failed = [(spec.name, st) for spec, st in zip(specs, states, strict=True) if not st.is_completed()]
    runs = [st.result() for st in states if st.is_completed()]
    for run in runs:
        logger.info("%s (%s): %d rows read, %d new, %d quarantined; files read %d, already read %d", run.name,
                    run.kind, run.intake.read, run.intake.inserted, run.intake.quarantined, run.files_read,
                    run.files_skipped)
        for error in run.errors:
            logger.warning("%s: %s (file left unread; retried next run)", run.name, error)
    if failed:  # the other sources are stored; the run still fails so the failure is seen
        failed[0][1].result()
    return runs


def _source_name(source: str, path: str | None, query: str | None) -> str:
    return {"sample": "sample", "file": f"file:{path}", "sql": f"sql:{query}"}[source][:500]


@flow(name="ingest", log_prints=True)
def ingest(source: str = "sample", path: str | None = None, query: str | None = None,
           source_url: str | None = None, symbol: str | None = None, timeframe: str = "1d",
           holdback_days: int = 0) -> list[SymbolIngest]:
    """Ingest market bars from ``source`` into the store.

    Args:
        source: ``sample`` (bundled real data), ``file`` (CSV/Parquet file or folder), ``sql``, or
            ``configured``: the sources file (only new data; the sample when none is configured and the
            store is empty).
        path: file or folder, for ``file``.
        query: SQL query, for ``sql``.
        source_url: SQLAlchemy URL the query runs on, for ``sql``.
        symbol: only this sample dataset, or the symbol of a file/query without a ``symbol`` column.
        timeframe: timeframe of a file/query without a ``timeframe`` column.
        holdback_days: ``sample`` (and the first-run sample of ``configured``): leave out the last this many days of every daily series (what
            ``abtpro replay`` pushes later).

    Returns:
        One summary per (symbol, timeframe): rows read, inserted, merged, quarantined and the bar range.
        What arrived is also emitted as the Prefect event ``abtpro.bars.arrived``.
    """
    settings = get_settings()
    logger = get_run_logger()
    if source == "configured":
        runs = ingest_configured(settings, holdback_days)
        create_table_artifact(key="ingest-summary", table=incremental.summary_rows(runs),
                              description="Ingestion from the configured sources: rows read, inserted, merged, "
                                          "quarantined per source and series")
        return [s for run in runs for s in run.intake.series]
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
