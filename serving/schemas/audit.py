"""The audit log: one entry and a page of them."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from serving.schemas.common import UtcDatetime


class AuditEntry(BaseModel):
    id: int
    ts: UtcDatetime
    actor: str
    action: str
    target: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class AuditPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[AuditEntry]

