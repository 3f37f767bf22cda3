"""Bookkeeping rows: the MLModelTraining lifecycle (a training job is its row) and the audit log."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select, true, update
from sqlalchemy.orm import Session

from store.db import get_engine, session_scope
from store.models import AuditLog, MLModelTraining, utcnow


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats (NaN, inf) replaced by None: JSON columns reject them on PostgreSQL."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def _new_training(session: Session, model_type: str, hyperparameters: dict[str, Any],
                  training_data: dict[str, Any]) -> int:
    row = MLModelTraining(model_type=model_type, hyperparameters=json_safe(hyperparameters),
                          training_data=json_safe(training_data), performance={}, status="TRAINING")
    session.add(row)
    session.flush()
    return int(row.id)


def _audit_row(actor: str, action: str, target: str | None, details: dict[str, Any] | None) -> AuditLog:
    return AuditLog(actor=actor, action=action, target=target, details=details or {})


def start_training(url: str, model_type: str, hyperparameters: dict[str, Any],
                   training_data: dict[str, Any], training_id: int | None = None) -> int:
    """Mark a training as TRAINING: create the row, or reuse ``training_id`` made by whoever queued the job."""
    with session_scope(url) as session:
        if training_id is not None:
            row = session.get(MLModelTraining, training_id)
            if row is None:
                raise KeyError(f"no MLModelTraining row with id {training_id}")
            row.status, row.hyperparameters, row.training_data = ("TRAINING", json_safe(hyperparameters),
                                                                  json_safe(training_data))
            return row.id
        return _new_training(session, model_type, hyperparameters, training_data)


def request_training(url: str, model_type: str, params: dict[str, Any], actor: str) -> int:
    """Queue a training job: its TRAINING row (``training_data`` = ``params``) and the audit row
    ``model.train.requested`` (target ``job:<id>``), in one transaction; returns the job id."""
    with session_scope(url) as session:
        job_id = _new_training(session, model_type, {}, dict(params))
        session.add(_audit_row(actor, "model.train.requested", f"job:{job_id}",
                               {"model_type": model_type, "params": params}))
    return job_id


def finish_training(url: str, training_id: int, *, status: str, performance: dict[str, Any] | None = None,
                    model_version: str | None = None, mlflow_run_id: str | None = None,
                    error: str | None = None, unless_finished: bool = False) -> bool:
    """Close a training row as COMPLETED or FAILED with its metrics, version and run.

    Args:
        unless_finished: only if the row is still TRAINING (a runner closing a job its flow may have
            closed already).

    Returns:
        Whether a row was updated. A row closed as FAILED also gets an audit row (``model.train.failed``).
    """
    values: dict[str, Any] = {"status": status, "completed_at": utcnow()}
    for key, value in (("performance", performance), ("model_version", model_version),
                       ("mlflow_run_id", mlflow_run_id), ("error", error)):
        if value is not None:
            values[key] = json_safe(value)
    stmt = update(MLModelTraining).where(MLModelTraining.id == training_id)
    if unless_finished:
        stmt = stmt.where(MLModelTraining.status == "TRAINING")
    with session_scope(url) as session:
        updated = bool(session.execute(stmt.values(**values)).rowcount)
        if updated and status == "FAILED":
            session.add(_audit_row("system", "model.train.failed", f"job:{training_id}",
                                   {"error": (error or "")[:500]}))
        return updated


def get_training(url: str, training_id: int) -> MLModelTraining | None:
    """One training row (detached: read its attributes freely), or None."""
    with session_scope(url) as session:
        return session.get(MLModelTraining, training_id)


def recent_trainings(url: str, model_type: str | None = None, limit: int = 10) -> list[MLModelTraining]:
    """The most recent training rows (of ``model_type``, when given), newest first."""
    stmt = select(MLModelTraining).order_by(MLModelTraining.started_at.desc(), MLModelTraining.id.desc()).limit(limit)
    if model_type:
        stmt = stmt.where(MLModelTraining.model_type == model_type)
    with Session(get_engine(url)) as session:
        rows = list(session.execute(stmt).scalars().all())
        session.expunge_all()
    return rows


def audit(url: str, actor: str, action: str, target: str | None = None, details: dict[str, Any] | None = None) -> None:
    """Append one audit-log row."""
    with session_scope(url) as session:
        session.add(_audit_row(actor, action, target, details))


def audit_page(url: str, *, actor: str | None = None, action: str | None = None, target: str | None = None,
               start: datetime | None = None, end: datetime | None = None, limit: int = 100,
               offset: int = 0) -> tuple[int, list[AuditLog]]:
    """Audit-log rows, newest first, with the total matching count (``action`` ending in ``*``: a prefix)."""
    cond = []
    if actor:
        cond.append(AuditLog.actor == actor)
    if action:
        cond.append(AuditLog.action.startswith(action[:-1]) if action.endswith("*") else AuditLog.action == action)
    if target:
        cond.append(AuditLog.target == target)
    if start is not None:
        cond.append(AuditLog.ts >= start)
    if end is not None:
        cond.append(AuditLog.ts <= end)
    where = and_(*cond) if cond else true()
    with Session(get_engine(url)) as session:
        total = int(session.execute(select(func.count()).select_from(AuditLog).where(where)).scalar_one())
        rows = list(session.execute(select(AuditLog).where(where).order_by(AuditLog.ts.desc(), AuditLog.id.desc())
                                    .limit(limit).offset(offset)).scalars().all())
        session.expunge_all()
    return total, rows
