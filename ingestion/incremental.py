"""Incremental sources, exactly once: what the scheduled ``ingest`` deployment reads (``source="configured"``).

* **Folder drop** (:func:`ingest_folder`): every ``.csv``/``.parquet`` file whose content (sha256 of its
  bytes) the ledger has not seen for its path is parsed by :mod:`ingestion.sources` and stored; the ledger
  row (``ingest_files``) is written only after the rows are stored. A killed run therefore re-reads its files,
  and the idempotent upsert stores every row once. A changed file (new hash) is read again.
* **SQL table** (:func:`ingest_sql`): rows with ``ts > watermark`` of their (symbol, timeframe); a series
  without a watermark is read whole. After the rows are stored the watermark moves to the newest *valid*
  stored bar of the series, so an invalid newer row is read (and quarantined) again until it is fixed.
* **Bundled sample** (:func:`ingest_default_sample`): only when no sources are configured and the store holds
  no bar yet (the first run of a fresh install).

Every source goes through :func:`ingestion.intake.accept_bars` (contract, upsert, quarantine) and emits
``abtpro.bars.arrived`` (:mod:`ingestion.events`) before its ledger or watermark moves.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from abtpro.settings import Settings
from ingestion import events
from ingestion.config import FolderSource, SqlSource, load_sources
from ingestion.intake import Intake, SeriesIntake, accept_bars
from ingestion.sources import FILE_SUFFIXES, SourceError, _read_one, read_sample
from store import external, ledger
from store.db import is_unavailable


@dataclass(frozen=True)
class SourceRun:
    """What one configured source delivered in one run."""

    name: str
    kind: str
    intake: Intake
    files_read: int = 0  # folder: files (re-)read; files whose content was already read are skipped
    files_skipped: int = 0
    errors: list[str] = field(default_factory=list)  # folder: unreadable files (not in the ledger: retried)


def configured_sources(settings: Settings) -> list[FolderSource | SqlSource] | None:
    """The sources of the sources file in force (None: no file configured)."""
    path = settings.resolved_sources_file()
    return None if path is None else load_sources(path)


def merge_intakes(source: str, parts: list[Intake]) -> Intake:
    """One intake of several (files of one folder): counts summed per series, bar range widened."""
    merged: dict[tuple[str, str], SeriesIntake] = {}
    for part in parts:
        for s in part.series:
            old = merged.get((s.symbol, s.timeframe))
            if old is None:
                merged[(s.symbol, s.timeframe)] = s
                continue
            firsts = [t for t in (old.first_ts, s.first_ts) if t]
            lasts = [t for t in (old.last_ts, s.last_ts) if t]
            merged[(s.symbol, s.timeframe)] = SeriesIntake(
                s.symbol, s.timeframe, old.read + s.read, old.inserted + s.inserted, old.merged + s.merged,
                old.quarantined + s.quarantined, min(firsts, key=pd.Timestamp) if firsts else None,
                max(lasts, key=pd.Timestamp) if lasts else None)
    rejected = [p.rejected.assign(origin=p.source) for p in parts if len(p.rejected)]
    return Intake(source, [merged[k] for k in sorted(merged)],
                  pd.concat(rejected, ignore_index=True) if rejected else pd.DataFrame(),
                  sum(p.newly_quarantined for p in parts))


def _drop_files(spec: FolderSource) -> list[Path]:
    root = spec.path
    if not root.is_dir():
        raise SourceError(f"source {spec.name!r}: folder does not exist: {root}")
    return sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in FILE_SUFFIXES
                  and not p.name.startswith((".", "~")))  # hidden / editor temp files are not drops


def ingest_folder(url: str, spec: FolderSource, chunk_rows: int = 50_000) -> SourceRun:
    """Read the new and changed files of a folder drop once (see the module docstring)."""
    known = ledger.known_files(url, spec.name)
    done, errors, skipped = [], [], 0
    for path in _drop_files(spec):
        content = path.read_bytes()
        sha, key = hashlib.sha256(content).hexdigest(), str(path.resolve())
        if known.get(key) == sha:
            skipped += 1
            continue
        try:
            raw = _read_one(path, spec.symbol, spec.timeframe)
        except SourceError as err:  # the file stays in the drop, unrecorded: read again on the next run
            errors.append(str(err))
            continue
        done.append((key, sha, len(content), accept_bars(url, raw, f"{spec.name}:{path.name}", chunk_rows)))
    intake = merge_intakes(spec.name, [d[3] for d in done])
    events.emit_arrival(intake, "folder")
    for key, sha, size, part in done:  # only now: every row of these files is stored or quarantined
        ledger.record_file(url, spec.name, key, sha, size, part.read)
    return SourceRun(spec.name, "folder", intake, len(done), skipped, errors)


def ingest_sql(url: str, spec: SqlSource, chunk_rows: int = 50_000) -> SourceRun:
    """Read the rows of a SQL table newer than their series' watermark (see the module docstring)."""
    since = ledger.watermarks(url, spec.name)
    try:
        raw = external.read_since(spec.url, spec.table, spec.ts_column, spec.value_columns(), spec.symbol_column,
                                  spec.timeframe_column, since, spec.schema_name)
    except Exception as err:
        if is_unavailable(err):
            raise  # the platform's database is down: transient, the task retries
        raise SourceError(f"source {spec.name!r}: cannot read {spec.table}: {err}") from err
    if spec.symbol_column is None:
        raw["symbol"] = spec.symbol
    if spec.timeframe_column is None:
        raw["timeframe"] = spec.timeframe
    intake = accept_bars(url, raw, spec.name, chunk_rows) if len(raw) else Intake(spec.name)
    events.emit_arrival(intake, "sql")
    ledger.advance_watermark(url, spec.name, {(s.symbol, s.timeframe): pd.Timestamp(s.last_ts).to_pydatetime()
                                              for s in intake.series if s.last_ts})
    return SourceRun(spec.name, "sql", intake)


def ingest_source(url: str, spec: FolderSource | SqlSource, chunk_rows: int = 50_000) -> SourceRun:
    """One configured source, whichever its kind."""
    return (ingest_folder if isinstance(spec, FolderSource) else ingest_sql)(url, spec, chunk_rows)


def ingest_default_sample(url: str, holdback_days: int = 0, chunk_rows: int = 50_000) -> SourceRun | None:
    """The bundled sample, only into an empty store (None: the store already holds bars; nothing read)."""
    if ledger.has_bars(url):
        return None
    intake = accept_bars(url, read_sample(holdback_days=holdback_days), "sample", chunk_rows)
    events.emit_arrival(intake, "sample")
    return SourceRun("sample", "sample", intake)


def summary_rows(runs: list[SourceRun]) -> list[dict]:
    """One row per (source, symbol, timeframe): the ``ingest-summary`` artifact."""
    return [{"source": run.name, **asdict(s)} for run in runs for s in run.intake.series]
