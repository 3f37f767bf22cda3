"""Scored signals and volatility forecasts: the writes of the API and the reads of its history, stats and
accuracy endpoints (one engine per process, short sessions).

Writes are one multi-row ``INSERT ... RETURNING id`` per request (a batch of 1,000 is one statement and
one commit) through :func:`store.db.write`, which honours the process's durability setting. On SQLite the
database runs in WAL mode with a 30 s busy timeout, so readers never block the single writer and
concurrent writers queue instead of failing; on PostgreSQL each request holds a pooled connection only
for its own statement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import Select, and_, case, func, insert, select
from sqlalchemy.orm import Session

from store.db import get_engine, write
from store.models import MLSignalScore, VolatilityPrediction, utcnow

VOLATILITY_COLUMNS = ["id", "symbol", "timeframe", "as_of", "horizon", "predicted", "actual", "lower", "upper",
                      "confidence", "model_name", "model_version"]


_INSERTS: dict[str, Any] = {}  # one statement per table, built once (building it cost more than the insert)


def _insert(url: str, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    now = utcnow()
    for row in rows:
        row.setdefault("created_at", now)
    stmt = _INSERTS.get(table.name)
    if stmt is None:
        stmt = _INSERTS[table.name] = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    with write(url) as conn:
        if len(rows) == 1:
            return [int(conn.execute(stmt, rows[0]).scalar_one())]
        return [int(r[0]) for r in conn.execute(stmt, rows).all()]


def save_volatility(url: str, rows: list[dict[str, Any]]) -> list[int]:
    """Insert VolatilityPrediction rows (dicts of column values); returns their ids in order."""
    return _insert(url, VolatilityPrediction.__table__, rows)


def save_signal_scores(url: str, rows: list[dict[str, Any]]) -> list[int]:
    """Insert MLSignalScore rows; returns their ids in order."""
    return _insert(url, MLSignalScore.__table__, rows)


def _filters(model: Any, user_id: int | None, symbol: str | None, timeframe: str | None,
             start: datetime | None, end: datetime | None, strategy: str | None = None) -> Any:
    """The WHERE clause of the reads: equality filters and a ``created_at`` range (True: no filter)."""
    cond = [] if user_id is None else [model.user_id == user_id]
    for column, value in (("symbol", symbol), ("timeframe", timeframe), ("strategy", strategy)):
        if value:
            cond.append(getattr(model, column) == value)
    if start is not None:
        cond.append(model.created_at >= start)
    if end is not None:
        cond.append(model.created_at <= end)
    return and_(*cond) if cond else True


def _page(url: str, model: Any, where: Any, limit: int, offset: int) -> tuple[int, list[Any]]:
    count: Select = select(func.count()).select_from(model).where(where)
    rows: Select = (select(model).where(where).order_by(model.created_at.desc(), model.id.desc())
                    .limit(limit).offset(offset))
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
    """Aggregates of scored signals computed in SQL (portable across SQLite and PostgreSQL); ``user_id``
    None aggregates every user's."""
    m = MLSignalScore
    where = _filters(m, user_id, symbol, timeframe, start, end, strategy)
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
    """Forecasts (newest ``limit``, columns :data:`VOLATILITY_COLUMNS`) as a frame for accuracy computations;
    caller-supplied forecasts (from inline bars) are left out: they are no evidence of live accuracy."""
    m = VolatilityPrediction
    stmt = (select(*(getattr(m, c) for c in VOLATILITY_COLUMNS))
            .where(_filters(m, user_id, symbol, timeframe, start, end), m.caller_supplied.is_(False))
            .order_by(m.created_at.desc(), m.id.desc()).limit(limit))
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=VOLATILITY_COLUMNS)
    frame["actual"] = frame["actual"].astype("float64")
    return frame


def counts(url: str) -> dict[str, int]:
    """How many forecasts (``volatility``) and signal scores (``signal``) are stored."""
    with get_engine(url).connect() as conn:
        return {name: int(conn.execute(select(func.count()).select_from(model)).scalar_one())
                for name, model in (("volatility", VolatilityPrediction), ("signal", MLSignalScore))}
