"""Who uses the API and what they did: :class:`User` (hashed keys, roles) and the :class:`AuditLog`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, utcnow

if TYPE_CHECKING:  # the relationship's target, resolved by class name when the mappers are configured
    from store.models.predictions import MLSignalScore


class User(Base):
    """An API user; the key itself is never stored, only its SHA-256 hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(16), default="user", server_default="user")  # user, feeder, admin
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    signal_scores: Mapped[list[MLSignalScore]] = relationship(back_populates="user")


class AuditLog(Base):
    """Who did what: every train, tune, apply and promote writes one row."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
