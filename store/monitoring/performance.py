"""What ``GET /ml/models/performance`` shows: per model, the latest results, older ones and the triggers."""

from __future__ import annotations

from typing import Any

from store.monitoring.results import monitoring_history
from store.monitoring.triggers import trigger_history


def model_performance(url: str, model_name: str | None = None, history: int = 10) -> dict[str, Any]:
    """Monitoring results for ``GET /ml/models/performance``.

    Returns:
        ``{"models": {name: {"latest": <newest monitoring row>, "history": [<older rows>...],
        "triggers": [<newest retrain triggers>...]}}}``; rows are plain dicts (datetimes as naive UTC).
    """
    rows = monitoring_history(url, model_name, limit=1000 if model_name is None else history)
    models: dict[str, Any] = {}
    for row in rows:
        entry = models.setdefault(row["model_name"], {"latest": row, "history": [], "triggers": []})
        if len(entry["history"]) < history:
            entry["history"].append({k: row[k] for k in ("id", "model_version", "created_at", "decision",
                                                         "n_resolved", "metrics", "reasons")})
    for name, entry in models.items():
        entry["triggers"] = trigger_history(url, name, limit=history)
    return {"models": models}

