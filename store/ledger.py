"""What the incremental sources have already delivered: the file ledger of folder drops (``ingest_files``)
and the watermarks of SQL sources (``ingest_watermarks``). Both live in the app database, so they survive
restarts; callers write them only after the rows they describe are stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from store.db import get_engine, write
from store.models import IngestedFile, IngestWatermark, MarketBar, utcnow


def _insert(conn: Connection, model: type):
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(model)


def known_files(url: str, source: str) -> dict[str, str]:
    """Path -> sha256 of the content last read, for every file ``source`` has read."""
    stmt = (select(IngestedFile.path, IngestedFile.sha256).where(IngestedFile.source == source)
            .order_by(IngestedFile.read_at, IngestedFile.id))
    with get_engine(url).connect() as conn:
        return {path: sha for path, sha in conn.execute(stmt)}  # the newest read of a path wins


def record_file(url: str, source: str, path: str, sha256: str, size: int, rows: int) -> None:
    """Note that ``source`` read ``path`` with this content (again: its read time moves to now)."""
    values = {"source": source, "path": path, "sha256": sha256, "size": size, "rows": rows, "read_at": utcnow()}
    with write(url) as conn:
        stmt = _insert(conn, IngestedFile).values(**values)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["source", "path", "sha256"],
            set_={"size": stmt.excluded.size, "rows": stmt.excluded.rows, "read_at": stmt.excluded.read_at}))


def watermarks(url: str, source: str) -> dict[tuple[str, str], datetime]:
    """(symbol, timeframe) -> newest bar timestamp ``source`` has delivered and the store holds."""
    stmt = select(IngestWatermark.symbol, IngestWatermark.timeframe, IngestWatermark.last_ts).where(
        IngestWatermark.source == source)
    with get_engine(url).connect() as conn:
        return {(symbol, timeframe): ts for symbol, timeframe, ts in conn.execute(stmt)}


def advance_watermark(url: str, source: str, marks: dict[tuple[str, str], datetime]) -> None:
    """Move the watermarks of ``source`` forward to ``marks`` (never back: the later of old and new is kept)."""
    if not marks:
        return
    now = utcnow()
    rows = [{"source": source, "symbol": s, "timeframe": tf, "last_ts": ts, "updated_at": now}
            for (s, tf), ts in marks.items()]
    with write(url) as conn:
        stmt = _insert(conn, IngestWatermark).values(rows)
        greatest = func.greatest if conn.dialect.name == "postgresql" else func.max  # SQLite: 2-arg max()
        conn.execute(stmt.on_conflict_do_update(
            index_elements=["source", "symbol", "timeframe"],
            set_={"last_ts": greatest(IngestWatermark.last_ts, stmt.excluded.last_ts),
                  "updated_at": stmt.excluded.updated_at}))


def has_bars(url: str) -> bool:
    """Whether the store holds any bar at all (the first-run test of the ``sample`` default)."""
    with get_engine(url).connect() as conn:
        return conn.execute(select(MarketBar.id).limit(1)).first() is not None
