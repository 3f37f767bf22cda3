"""Reload announcements between the serving processes (table ``model_reloads``, :class:`store.models.ModelReload`).

A process that reloads a champion on an explicit signal calls :func:`announce`; every process reads
:func:`revisions` about once a second and reloads the models whose revision changed since it last looked
(:class:`serving.models.ChampionPoller`). The table only says "look again": what to load is always the
registry's alias.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from store.db import get_engine, write
from store.models import ModelReload, utcnow

_READ = select(ModelReload.model_name, ModelReload.revision)


def announce(url: str, model_name: str, version: str | None = None) -> int:
    """Give ``model_name`` a new random revision (``version``: what the announcing process serves); returns it."""
    revision = secrets.randbits(62)
    with write(url) as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(ModelReload).values(model_name=model_name, revision=revision, version=version,
                                                  updated_at=utcnow())
        conn.execute(stmt.on_conflict_do_update(index_elements=["model_name"], set_={
            "revision": stmt.excluded.revision, "version": stmt.excluded.version,
            "updated_at": stmt.excluded.updated_at}))
    return revision


def revisions(url: str) -> dict[str, int]:
    """The current revision of every announced model."""
    with get_engine(url).connect() as conn:
        return {name: int(rev) for name, rev in conn.execute(_READ).all()}
