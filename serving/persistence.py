"""Writes and reads of scored signals and volatility forecasts (one engine per process, short sessions).

Writes are one multi-row ``INSERT ... RETURNING id`` per request (a batch of 1,000 is one statement
and one commit). On SQLite the database runs in WAL mode with a 30 s busy timeout, so readers never
block the single writer and concurrent writers queue instead of failing; on PostgreSQL each request
holds a pooled connection only for its own statement.

Durability of the prediction log (``ABTPRO_SERVING_DURABLE_WRITES``, default False): a commit that
waits for an fsync costs 1-10 ms on ordinary disks, more than the whole warm request. With relaxed
durability the service runs SQLite connections with ``PRAGMA synchronous=NORMAL`` (in WAL mode the
database can never be corrupted; an OS crash or power loss may drop the last commits) and PostgreSQL
insert transactions with ``SET LOCAL synchronous_commit TO OFF`` (same guarantee, only for these
transactions). Set it to True to fsync every prediction row.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, and_, case, event, func, insert, select

from store.db import get_engine
from store.models import MLModelTraining, MLSignalScore, VolatilityPrediction, utcnow

_RELAXED: set[str] = set()
_CHECKPOINTERS: dict[str, threading.Thread] = {}


def relax_durability(url: str) -> None:
    """Use relaxed commit durability for this process's writes to ``url`` (see the module docstring)."""
    if url in _RELAXED:
        return
    _RELAXED.add(url)
    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _synchronous_normal(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        engine.dispose()  # pooled connections reopen with the pragma


def background_checkpoints(url: str, interval: float = 1.0) -> None:
    """SQLite only: move WAL checkpoints off the request path.

    By default the commit that pushes the WAL past 1,000 pages runs the checkpoint itself (copy
    to the database file + fsync), a stall of one request that every concurrent writer then waits
    for. Here the service's connections turn auto-checkpointing off and a daemon thread runs
    ``PRAGMA wal_checkpoint(PASSIVE)`` every ``interval`` seconds (PASSIVE never waits for readers
    or writers; SQLite releases the GIL while it does the I/O). Other processes writing the same
    file keep their own auto-checkpoints.
    """
    engine = get_engine(url)
    if engine.dialect.name != "sqlite" or url in _CHECKPOINTERS:
        return

    @event.listens_for(engine, "connect")
    def _no_autocheckpoint(dbapi_conn: Any, _record: Any) -> None:  # pragma: no cover - trivial
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    engine.dispose()

    def run() -> None:
        while True:
            time.sleep(interval)
            try:
                with engine.connect() as conn:
                    conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # noqa: BLE001 - a busy or missing file is retried next time
                continue

    thread = threading.Thread(target=run, name="abtpro-sqlite-checkpoint", daemon=True)
    _CHECKPOINTERS[url] = thread
    thread.start()


def _insert(url: str, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    with get_engine(url).begin() as conn:
        if url in _RELAXED and conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
        if len(rows) == 1:
            return [int(conn.execute(stmt, rows[0]).scalar_one())]
        return [int(r[0]) for r in conn.execute(stmt, rows).all()]


def save_volatility(url: str, rows: list[dict[str, Any]]) -> list[int]:
    """Insert VolatilityPrediction rows (dicts of column values); returns their ids in order."""
    now = utcnow()
    for row in rows:
        row.setdefault("created_at", now)
    return _insert(url, VolatilityPrediction.__table__, rows)


def save_signal_scores(url: str, rows: list[dict[str, Any]]) -> list[int]:
    """Insert MLSignalScore rows; returns their ids in order."""
    now = utcnow()
    for row in rows:
        row.setdefault("created_at", now)
    return _insert(url, MLSignalScore.__table__, rows)


def _filters(model: Any, user_id: int | None, symbol: str | None, timeframe: str | None,
             start: datetime | None, end: datetime | None, strategy: str | None = None) -> list[Any]:
    cond = []
    if user_id is not None:
        cond.append(model.user_id == user_id)
    if symbol:
        cond.append(model.symbol == symbol)
    if timeframe:
        cond.append(model.timeframe == timeframe)
    if strategy:
        cond.append(model.strategy == strategy)
    if start is not None:
        cond.append(model.created_at >= start)
    if end is not None:
        cond.append(model.created_at <= end)
    return cond


def _page(url: str, model: Any, cond: list[Any], limit: int, offset: int) -> tuple[int, list[Any]]:
    where = and_(*cond) if cond else True
    count: Select = select(func.count()).select_from(model).where(where)
    rows: Select = (select(model).where(where).order_by(model.created_at.desc(), model.id.desc())
                    .limit(limit).offset(offset))
    from sqlalchemy.orm import Session

    with Session(get_engine(url)) as session:
        total = int(session.execute(count).scalar_one())
        items = list(session.execute(rows).scalars().all())
        session.expunge_all()
    return total, items


def signal_history(url: str, user_id: int, *, symbol: str | None = None, strategy: str | None = None,
                   timeframe: str | None = None, start: datetime | None = None, end: datetime | None = None,
                   limit: int = 100, offset: int = 0) -> tuple[int, list[MLSignalScore]]:
    """One user's scored signals, newest first, with the total matching count."""
    return _page(url, MLSignalScore, _filters(MLSignalScore, user_id, symbol, timeframe, start, end, strategy),
                 limit, offset)


def volatility_history(url: str, user_id: int, *, symbol: str | None = None, timeframe: str | None = None,
                       start: datetime | None = None, end: datetime | None = None,
                       limit: int = 100, offset: int = 0) -> tuple[int, list[VolatilityPrediction]]:
    """One user's volatility forecasts, newest first, with the total matching count."""
    return _page(url, VolatilityPrediction,
                 _filters(VolatilityPrediction, user_id, symbol, timeframe, start, end), limit, offset)


def signal_stats(url: str, user_id: int | None, *, symbol: str | None = None, strategy: str | None = None,
                 timeframe: str | None = None, start: datetime | None = None,
                 end: datetime | None = None) -> dict[str, Any]:
    """Aggregates of scored signals computed in SQL (portable across SQLite and PostgreSQL)."""
    m = MLSignalScore
    cond = _filters(m, user_id, symbol, timeframe, start, end, strategy)
    where = and_(*cond) if cond else True
    taken = case((m.prediction.in_(["BUY", "SELL"]), 1), else_=0)
    bin_ = case(*[(m.score < (i + 1) / 10, i) for i in range(9)], else_=9)
    with get_engine(url).connect() as conn:
        count, mean_score, mean_conf = conn.execute(
            select(func.count(), func.avg(m.score), func.avg(m.confidence)).where(where)).one()
        preds = conn.execute(select(m.prediction, func.count()).where(where).group_by(m.prediction)).all()
        strat = conn.execute(select(m.strategy, func.count(), func.avg(m.score), func.avg(taken))
                             .where(where).group_by(m.strategy)).all()
        versions = conn.execute(select(m.model_version, func.count()).where(where).group_by(m.model_version)).all()
        bins = conn.execute(select(bin_, func.count()).where(where).group_by(bin_)).all()
    hist = {f"{i / 10:.1f}-{(i + 1) / 10:.1f}": 0 for i in range(10)}
    for b, n in bins:
        hist[f"{int(b) / 10:.1f}-{(int(b) + 1) / 10:.1f}"] = int(n)
    return {
        "count": int(count),
        "mean_score": None if mean_score is None else float(mean_score),
        "mean_confidence": None if mean_conf is None else float(mean_conf),
        "score_histogram": hist,
        "predictions": {str(p): int(n) for p, n in preds},
        "by_strategy": {str(s): {"count": int(n), "mean_score": float(ms), "take_rate": float(tr)}
                        for s, n, ms, tr in strat},
        "model_versions": {str(v): int(n) for v, n in versions},
    }


def volatility_rows(url: str, user_id: int | None, *, symbol: str | None = None, timeframe: str | None = None,
                    start: datetime | None = None, end: datetime | None = None,
                    limit: int = 10_000) -> pd.DataFrame:
    """Forecasts (newest ``limit``) as a frame for accuracy computations."""
    m = VolatilityPrediction
    cond = _filters(m, user_id, symbol, timeframe, start, end)
    stmt = (select(m.id, m.symbol, m.timeframe, m.as_of, m.horizon, m.predicted, m.actual, m.lower, m.upper,
                   m.confidence, m.model_name, m.model_version)
            .where(and_(*cond) if cond else True).order_by(m.created_at.desc(), m.id.desc()).limit(limit))
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    cols = ["id", "symbol", "timeframe", "as_of", "horizon", "predicted", "actual", "lower", "upper",
            "confidence", "model_name", "model_version"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["actual"] = frame["actual"].astype("float64")
    return frame


def training_rows(url: str, model_type: str | None = None, limit: int = 10) -> list[MLModelTraining]:
    """Most recent training runs."""
    from sqlalchemy.orm import Session

    stmt = select(MLModelTraining).order_by(MLModelTraining.started_at.desc(), MLModelTraining.id.desc()).limit(limit)
    if model_type:
        stmt = stmt.where(MLModelTraining.model_type == model_type)
    with Session(get_engine(url)) as session:
        rows = list(session.execute(stmt).scalars().all())
        session.expunge_all()
    return rows


def resolve_actuals(url: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Fill ``actual`` (realised vol over each forecast's horizon, when the bars exist by now) and
    ``trailing`` (the realised vol of the ``h`` bars up to the origin, for directional accuracy).

    Read-only: stored ``actual`` values win; nothing is written back.
    """
    from ml.volatility.targets import realised_vol_target, trailing_realised_vol
    from serving.inference import _start_for
    from serving.schemas import timeframe_minutes
    from store.bars import read_bars

    frame = frame.copy()
    frame["trailing"] = np.nan
    known = frame.dropna(subset=["as_of"])
    for (symbol, timeframe, minutes), group in known.groupby(["symbol", "timeframe", "horizon"]):
        h = max(1, int(round(float(minutes) / timeframe_minutes(timeframe))))
        first = pd.Timestamp(group["as_of"].min()).to_pydatetime()
        start = _start_for(url, symbol, timeframe, first, h + 2)
        bars = read_bars(url, symbol, timeframe, start=start)
        if bars.empty:
            continue
        origins = pd.DatetimeIndex(group["as_of"])
        target = realised_vol_target(bars, h).reindex(origins).to_numpy()
        trailing = trailing_realised_vol(bars, h).reindex(origins).to_numpy()
        stored = group["actual"].to_numpy(float)
        frame.loc[group.index, "actual"] = np.where(np.isfinite(stored), stored, target)
        frame.loc[group.index, "trailing"] = trailing
    return frame
