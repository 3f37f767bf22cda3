"""``store.monitoring.champion_triggers``: the judged champion's fired triggers, open or with their verdict."""

from __future__ import annotations

from datetime import timedelta

from store import monitoring as store
from store.models import utcnow


def _fired(url: str, version: str, status: str = "fired", mode: str = "event", **values) -> int:
    return store.record_trigger(url, model_name="m", model_version=version, reasons=["drift"], status=status,
                                mode=mode, **values)


def test_open_and_lost_retrains_of_the_judged_champion_newest_first(clean_db):
    old = _fired(clean_db, "1", status="completed", result={"promoted": False})
    store.record_trigger(clean_db, model_name="m", model_version="1", reasons=[], status="suppressed", mode="none")
    _fired(clean_db, "2", status="completed", result={"promoted": True})  # another champion's
    queued = _fired(clean_db, "1")
    recorded = _fired(clean_db, "1", mode="record")  # only recorded: nothing will run it
    stale = _fired(clean_db, "1", status="running", created_at=utcnow() - timedelta(hours=7))
    rows = store.champion_triggers(clean_db, "m", "1")
    assert [(r["id"], r["open"], r["promoted"]) for r in rows] == [  # by creation, newest first
        (recorded, False, None), (queued, True, None), (old, False, False), (stale, False, None)]
    assert store.champion_triggers(clean_db, "m", "3") == []
