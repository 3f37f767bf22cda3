"""Bookkeeping rows: MLModelTraining lifecycle and the audit log."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import update

from store.db import session_scope
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
        row = MLModelTraining(model_type=model_type, hyperparameters=json_safe(hyperparameters),
                              training_data=json_safe(training_data), performance={}, status="TRAINING")
        session.add(row)
        session.flush()
        return row.id


def finish_training(url: str, training_id: int, *, status: str, performance: dict[str, Any] | None = None,
                    model_version: str | None = None, mlflow_run_id: str | None = None,
                    error: str | None = None) -> None:
    """Close a training row as COMPLETED or FAILED with its metrics, version and run."""
    values: dict[str, Any] = {"status": status, "completed_at": utcnow()}
    for key, value in (("performance", performance), ("model_version", model_version),
                       ("mlflow_run_id", mlflow_run_id), ("error", error)):
        if value is not None:
            values[key] = json_safe(value)
    with session_scope(url) as session:
        session.execute(update(MLModelTraining).where(MLModelTraining.id == training_id).values(**values))


def audit(url: str, actor: str, action: str, target: str | None = None, details: dict[str, Any] | None = None) -> None:
    """Append one audit-log row."""
    with session_scope(url) as session:
        session.add(AuditLog(actor=actor, action=action, target=target, details=details or {}))
