"""``GET /ml/audit`` (admin): the audit log — trainings, tuning, applies, promotions and approvals, pushes, risk
decisions, reported outcomes, failed jobs and refused admin attempts — newest first, with filters."""

from __future__ import annotations

from typing import Any

import bentoml
from fastapi import APIRouter, Depends, Query

from serving.http import MAX_INT32
from serving.schemas import AuditEntry, AuditPage, QueryDatetime
from store import records

router = APIRouter()


@router.get("/audit", response_model=AuditPage)
def audit_log(actor: str | None = Query(None, max_length=100), action: str | None = Query(None, max_length=100),
              target: str | None = Query(None, max_length=500), start: QueryDatetime | None = None,
              end: QueryDatetime | None = None, limit: int = Query(100, ge=1, le=1000),
              offset: int = Query(0, ge=0, le=MAX_INT32), svc: Any = Depends(bentoml.get_current_service)) -> Any:
    """Admin: audit rows (``action`` ending in ``*`` matches a prefix, e.g. ``risk.*``)."""
    total, rows = records.audit_page(svc.db_url, actor=actor, action=action, target=target, start=start, end=end,
                                     limit=limit, offset=offset)
    items = [AuditEntry(id=r.id, ts=r.ts, actor=r.actor, action=r.action, target=r.target, details=r.details or {})
             for r in rows]
    return AuditPage(total=total, limit=limit, offset=offset, items=items)
