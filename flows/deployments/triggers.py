"""The events that start the monitoring chain, the concurrency limits and the monitoring parameters."""

from __future__ import annotations

from typing import Any

from flows.retrain import DRIFT_EVENT
from ingestion.events import BARS_ARRIVED

# monitoring emits DRIFT_EVENT for a champion that decayed or drifted; this trigger turns it into a retraining run
DRIFT_TRIGGER: dict[str, Any] = {
    "type": "event", "name": "retrain-on-drift", "enabled": True, "match": {"prefect.resource.id": "abtpro.model.*"},
    "expect": [DRIFT_EVENT],
    "parameters": {"model": "{{ event.resource.name }}", "trigger_id": "{{ event.payload.trigger_id }}"}}

def from_event(expression: str) -> dict[str, Any]:
    """A deployment-trigger parameter rendered from the event as a JSON value (list, number ...), not a string."""
    return {"__prefect_kind": "json",
            "value": {"__prefect_kind": "jinja", "template": "{{ " + expression + " | tojson }}"}}


# ingestion emits BARS_ARRIVED for every intake that stored new bars: resolve the outcomes of those series, then
# monitor (the monitoring-loop deployment: both in one run)
ARRIVAL_TRIGGER: dict[str, Any] = {
    "type": "event", "name": "loop-on-arrival", "enabled": True, "match": {"prefect.resource.id": "abtpro.bars.*"},
    "expect": [BARS_ARRIVED],
    "parameters": {"symbols": from_event("event.payload.symbols"),
                   "timeframes": from_event("event.payload.timeframes")}}
COALESCE: dict[str, Any] = {"limit": 1, "collision_strategy": "CANCEL_NEW"}  # one run; events meanwhile cancelled
TUNE_CONCURRENCY: dict[str, Any] = {"limit": 2, "collision_strategy": "ENQUEUE"}  # tuning jobs wait their turn
MONITOR_PARAMETERS: dict[str, Any] = {"window": 250, "max_qlike_increase": 0.2, "min_auc": 0.55, "min_resolved": 50,
                                      "drift_share": 0.5, "cooldown_bars": 20, "every_bars": 5, "dispatch": "event"}
