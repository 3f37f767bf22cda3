"""The table as ``infra/prefect.yaml`` for a work-pool setup: its header and one entry per deployment."""

from __future__ import annotations

from typing import Any

import yaml

from flows.deployments.spec import PREFECT_VERSION, TIMEZONE, WORK_POOL, Deployment
from flows.deployments.table import DEPLOYMENTS
from flows.loop import DEPLOYMENT as LOOP
from flows.retrain import DEPLOYMENT as RETRAIN
from flows.retrain import DRIFT_EVENT
from ingestion.events import BARS_ARRIVED

HEADER = f"""\
# GENERATED from flows/deployments/table.py by `python -m flows.deployments --write-prefect-yaml`: edit the table there.
# Prefect deployments of the ABTPro ML pipeline (`prefect deploy --all --prefect-file infra/prefect.yaml`,
# run from the repository root, /app in the image). Runs execute on the process work pool `{WORK_POOL}`
# (`prefect worker start --pool {WORK_POOL}`); infra/worker.sh does all three steps.
# Deployment names match flow names: a run is `<flow>/<flow>`.
#
# Monitoring chain, on events: every intake emits `{BARS_ARRIVED}` -> trigger `loop-on-arrival` runs
# {LOOP}: the outcome backfill of the arrived symbols/timeframes, then monitoring (windows, cooldown_bars
# and every_bars in bars of data time), as two subflows of one run (one process per arrival, not two).
# Fallback schedule: ingest (22:00) -> validate (22:30) -> {LOOP} (22:45). backfill-outcomes and
# monitor-models are deployments for a run by hand.
# Coalescing: concurrency_limit {{limit: 1, collision_strategy: CANCEL_NEW}}: one run at a time, runs started
# by events meanwhile are cancelled, not queued (a replay emits ~250 events in minutes). Nothing is lost: every
# run processes everything pending (the backfill also the bars stored while it ran).
# Monitoring emits the event `{DRIFT_EVENT}` (resource `abtpro.model.<name>`) when a champion's
# accuracy decays beyond tolerance or its inputs drift, outside the retrain cooldown; the trigger of
# `{RETRAIN}` turns that event into a retraining run for that model.
# No build, push or pull steps: `prefect deploy` records the directory it ran from (the repository root;
# /app in the image, where infra/worker.sh deploys) and runs start there.
"""


def yaml_entry(spec: Deployment) -> dict[str, Any]:
    """``spec`` as a deployment of ``prefect.yaml``."""
    entry: dict[str, Any] = {"name": spec.name, "entrypoint": spec.entrypoint, "description": spec.description,
                             "tags": list(spec.tags), "work_pool": {"name": WORK_POOL, "work_queue_name": "default"}}
    if spec.parameters:
        entry["parameters"] = dict(spec.parameters)
    if spec.concurrency_limit is not None:
        entry["concurrency_limit"] = (dict(spec.concurrency_limit) if isinstance(spec.concurrency_limit, dict)
                                      else spec.concurrency_limit)
    if spec.cron:
        entry["schedules"] = [{"cron": spec.cron, "timezone": TIMEZONE}]
    if spec.triggers:
        entry["triggers"] = [dict(trigger) for trigger in spec.triggers]
    return entry


def prefect_yaml(specs: tuple[Deployment, ...] = DEPLOYMENTS) -> str:
    """The text of ``infra/prefect.yaml`` for ``specs``."""
    document = {"name": "abtpro-ml", "prefect-version": PREFECT_VERSION, "build": None, "push": None, "pull": None,
                "deployments": [yaml_entry(spec) for spec in specs]}
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=120)
