"""Monitoring results: record a pass, the newest results, the last pass of one model version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import desc, select

from store.db import get_engine, session_scope
from store.models import ModelMonitoring


def save_monitoring(url: str, **values: Any) -> int:
    """Insert one ``ModelMonitoring`` row (column values as keywords); returns its id."""
    with session_scope(url) as session:
        row = ModelMonitoring(**values)
        session.add(row)
        session.flush()
        return row.id


def _as_dict(row: Any) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in row.__table__.columns}


def monitoring_history(url: str, model_name: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Newest monitoring results first (all models, or one)."""
    stmt = select(ModelMonitoring).order_by(desc(ModelMonitoring.created_at), desc(ModelMonitoring.id)).limit(limit)
    if model_name:
        stmt = stmt.where(ModelMonitoring.model_name == model_name)
    with session_scope(url) as session:
        return [_as_dict(r) for r in session.execute(stmt).scalars()]



def last_pass(url: str, model_name: str, model_version: str | None) -> dict[str, Any] | None:
    """The newest recorded monitoring pass of one model version (None: never monitored)."""
    m = ModelMonitoring
    stmt = (select(m.id, m.window_end, m.created_at).where(m.model_name == model_name,
                                                          m.model_version == str(model_version))
            .order_by(desc(m.created_at), desc(m.id)).limit(1))
    with get_engine(url).connect() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else {"id": row.id, "window_end": row.window_end, "created_at": row.created_at}

