"""Retrain triggers: record and update one, the last fired, the champion's, the open one, the history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import desc, select, update

from store.db import get_engine, session_scope
from store.models import RetrainTrigger, utcnow
from store.monitoring.results import _as_dict

FIRED_STATUSES = ("fired", "running", "completed", "failed")



def record_trigger(url: str, **values: Any) -> int:
    """Insert one ``RetrainTrigger`` row; returns its id."""
    values.setdefault("result", {})
    with session_scope(url) as session:
        row = RetrainTrigger(**values)
        session.add(row)
        session.flush()
        return row.id


def update_trigger(url: str, trigger_id: int, **values: Any) -> None:
    """Update a trigger row (status, flow_run_id, result, completed_at ...)."""
    with session_scope(url) as session:
        session.execute(update(RetrainTrigger).where(RetrainTrigger.id == trigger_id).values(**values))



def last_fired_data_ts(url: str, model_name: str) -> datetime | None:
    """``data_ts`` of the newest trigger of ``model_name`` that fired (suppressed ones do not count)."""
    stmt = (select(RetrainTrigger.data_ts).where(RetrainTrigger.model_name == model_name,
                                                 RetrainTrigger.status.in_(FIRED_STATUSES),
                                                 RetrainTrigger.data_ts.is_not(None))
            .order_by(desc(RetrainTrigger.data_ts), desc(RetrainTrigger.id)).limit(1))
    with get_engine(url).connect() as conn:
        return conn.execute(stmt).scalar_one_or_none()



def champion_triggers(url: str, model_name: str, model_version: str, open_hours: float = 6.0,
                      limit: int = 10) -> list[dict[str, Any]]:
    """The newest fired triggers that judged ``model_version`` of ``model_name``: id, whether its retrain is still
    open (fired or running, dispatched to a retrain, less than ``open_hours`` old) and whether it promoted."""
    t = RetrainTrigger
    stmt = (select(t.id, t.status, t.mode, t.created_at, t.result)
            .where(t.model_name == model_name, t.model_version == str(model_version), t.status.in_(FIRED_STATUSES))
            .order_by(desc(t.created_at), desc(t.id)).limit(limit))
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    now = utcnow()
    out = []
    for r in rows:
        is_open = (r.status in ("fired", "running") and r.mode in ("event", "direct")
                   and r.created_at is not None and (now - r.created_at).total_seconds() < open_hours * 3600)
        promoted = (r.result or {}).get("promoted") if r.status == "completed" else None
        out.append({"id": r.id, "open": is_open, "promoted": None if promoted is None else bool(promoted)})
    return out


def open_trigger(url: str, model_name: str) -> int | None:
    """The newest fired trigger of ``model_name`` that no retrain has picked up yet."""
    stmt = (select(RetrainTrigger.id).where(RetrainTrigger.model_name == model_name,
                                            RetrainTrigger.status == "fired")
            .order_by(desc(RetrainTrigger.created_at), desc(RetrainTrigger.id)).limit(1))
    with get_engine(url).connect() as conn:
        return conn.execute(stmt).scalar_one_or_none()


def trigger_history(url: str, model_name: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Newest retrain triggers first (all models, or one)."""
    stmt = select(RetrainTrigger).order_by(desc(RetrainTrigger.created_at), desc(RetrainTrigger.id)).limit(limit)
    if model_name:
        stmt = stmt.where(RetrainTrigger.model_name == model_name)
    with session_scope(url) as session:
        return [_as_dict(r) for r in session.execute(stmt).scalars()]

