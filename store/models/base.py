"""The store's clock (:func:`utcnow`, naive UTC) and the declarative :class:`Base` of every model."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import DeclarativeBase


def utcnow() -> datetime:
    """Current time as a naive UTC datetime (the store's convention)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base with one JSON type for every backend."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}
