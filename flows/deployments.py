"""Every Prefect deployment of the pipeline, declared once in :data:`DEPLOYMENTS`.

From this table come both ways of running them:

* ``python -m flows.deployments`` registers them with the Prefect server in ``PREFECT_API_URL`` and
  executes their scheduled and triggered runs in this process (``prefect.serve``; what ``abtpro run``
  starts). ``--only a,b`` serves a subset (``python -m flows.monitor --serve`` serves :data:`MONITORING_CHAIN`).
* ``python -m flows.deployments --write-prefect-yaml`` writes ``infra/prefect.yaml`` for a work-pool based
  setup (``prefect deploy --all``, ``infra/worker.sh``); ``tests/flows/test_deployments.py`` checks that the
  committed file is the generated one.

Deployment names match flow names, so a run is addressed as ``<flow>/<flow>``.

The monitoring chain runs on events, in data time: every intake of bars emits ``abtpro.bars.arrived``
(:mod:`ingestion.events`); :data:`ARRIVAL_TRIGGER` runs ``backfill-outcomes`` for the arrived symbols and
timeframes; a backfill that resolved outcomes emits ``abtpro.outcomes.resolved``, on which
:data:`RESOLVED_TRIGGER` runs ``monitor-models``; its ``abtpro.model.drift`` runs ``retrain-model``
(:data:`DRIFT_TRIGGER`). The daily cron schedules stay as the fallback (a missed or dropped event).

Coalescing: a replay emits ~250 arrival events in a few minutes. Both event-driven deployments have
:data:`COALESCE` (``concurrency_limit: {limit: 1, collision_strategy: CANCEL_NEW}``, supported by
``to_deployment``/``serve`` and by ``prefect.yaml`` in Prefect 3.9): at most one run at a time, and a run
an event starts while one is running is cancelled by the server, not queued (``ENQUEUE`` would pile up one
waiting run per event). A cancelled run loses nothing: every run processes everything pending, not the
event's bars only — the backfill resolves every unresolved row of its series and, before it ends, the
series of bars stored while it ran (its ``catch_up`` passes: the work of the runs cancelled meanwhile);
monitoring judges each champion's newest window whenever ``every_bars`` bars of new resolved outcomes
accumulated, so a later run (the next event or the schedule) covers what a cancelled one would have.
Parameters are templated from the event: a single ``{{ ... }}`` expression is rendered as its JSON value
(the explicit ``{"__prefect_kind": "json", "value": {"__prefect_kind": "jinja", "template": "{{ x | tojson }}"}}``
form, which Prefect 3.9 also makes of a bare ``"{{ x }}"``), so ``symbols`` arrives as a list.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import yaml

from flows.backfill import OUTCOMES_RESOLVED
from flows.retrain import DEPLOYMENT as RETRAIN
from flows.retrain import DRIFT_EVENT
from ingestion.events import BARS_ARRIVED

PREFECT_YAML = Path(__file__).resolve().parents[1] / "infra" / "prefect.yaml"
WORK_POOL = "abtpro-process"  # infra/worker.sh creates it and starts its worker
PREFECT_VERSION = "3.9.1"  # the release pyproject.toml pins (recorded in prefect.yaml)
TIMEZONE = "UTC"


@dataclass(frozen=True)
class Deployment:
    """One deployment: its flow (``package.module:function``), when it runs and which events start it.

    Entrypoints are module paths, not file paths: Prefect loads a file path with its directory first on
    ``sys.path``, where ``flows/ingest.py`` would hide the ``ingest`` package from the flow's imports.
    """

    name: str
    entrypoint: str
    description: str
    tags: tuple[str, ...]
    cron: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    concurrency_limit: int | dict[str, Any] | None = None
    triggers: tuple[dict[str, Any], ...] = ()


# monitoring emits DRIFT_EVENT for a champion that decayed or drifted; this trigger turns it into a retraining run
DRIFT_TRIGGER: dict[str, Any] = {
    "type": "event", "name": "retrain-on-drift", "enabled": True, "match": {"prefect.resource.id": "abtpro.model.*"},
    "expect": [DRIFT_EVENT],
    "parameters": {"model": "{{ event.resource.name }}", "trigger_id": "{{ event.payload.trigger_id }}"}}

def from_event(expression: str) -> dict[str, Any]:
    """A deployment-trigger parameter rendered from the event as a JSON value (list, number ...), not a string."""
    return {"__prefect_kind": "json",
            "value": {"__prefect_kind": "jinja", "template": "{{ " + expression + " | tojson }}"}}


# ingestion emits BARS_ARRIVED for every intake that stored new bars: resolve the outcomes of those series
ARRIVAL_TRIGGER: dict[str, Any] = {
    "type": "event", "name": "backfill-on-arrival", "enabled": True, "match": {"prefect.resource.id": "abtpro.bars.*"},
    "expect": [BARS_ARRIVED],
    "parameters": {"symbols": from_event("event.payload.symbols"),
                   "timeframes": from_event("event.payload.timeframes")}}
# the backfill emits OUTCOMES_RESOLVED when it resolved outcomes: monitor the champions on them
RESOLVED_TRIGGER: dict[str, Any] = {
    "type": "event", "name": "monitor-on-outcomes", "enabled": True,
    "match": {"prefect.resource.id": "abtpro.outcomes"}, "expect": [OUTCOMES_RESOLVED]}
COALESCE: dict[str, Any] = {"limit": 1, "collision_strategy": "CANCEL_NEW"}  # one run; events meanwhile cancelled
TUNE_CONCURRENCY: dict[str, Any] = {"limit": 2, "collision_strategy": "ENQUEUE"}  # tuning jobs wait their turn
MONITOR_PARAMETERS: dict[str, Any] = {"window": 250, "max_qlike_increase": 0.2, "min_auc": 0.55, "min_resolved": 50,
                                      "drift_share": 0.5, "cooldown_bars": 20, "every_bars": 5, "dispatch": "event"}

DEPLOYMENTS: tuple[Deployment, ...] = (
    Deployment("backfill-outcomes", "flows.backfill:backfill_outcomes",
               "Resolve volatility forecasts (realised vol over their horizon) and scored signals (triple-barrier "
               "outcome) from newly ingested bars; runs on abtpro.bars.arrived for the arrived series.",
               ("abtpro", "monitoring"), "45 22 * * 1-5", concurrency_limit=COALESCE, triggers=(ARRIVAL_TRIGGER,)),
    Deployment("monitor-models", "flows.monitor:monitor_models",
               "Live accuracy vs validation metrics and feature drift of every champion (in bars of data time); "
               "fires abtpro.model.drift. Runs on abtpro.outcomes.resolved.",
               ("abtpro", "monitoring"), "0 23 * * 1-5", MONITOR_PARAMETERS, concurrency_limit=COALESCE,
               triggers=(RESOLVED_TRIGGER,)),
    Deployment(RETRAIN, "flows.retrain:retrain_model",
               "Retrain a model on the latest data, compare it with the deployed champion, register it as challenger "
               "and promote it only if it wins.", ("abtpro", "retrain"), concurrency_limit=1, triggers=(DRIFT_TRIGGER,)),
    Deployment("ingest", "flows.ingest:ingest",
               "Daily ingestion of the configured sources (folder drops, SQL tables; only new data, by file ledger "
               "and watermark) after the close: idempotent upsert, invalid rows quarantined.",
               ("abtpro", "data"), "0 22 * * 1-5", {"source": "configured"}),
    Deployment("validate", "flows.validate:validate",
               "Great Expectations checkpoint over the stored bars; rebuilds Data Docs.", ("abtpro", "data"),
               "30 22 * * 1-5"),
    Deployment("volatility-pipeline", "flows.volatility:volatility_pipeline",
               "Monthly retrain, walk-forward evaluation and champion/challenger registration of the volatility "
               "predictor.", ("abtpro", "training"), "0 3 1 * *", concurrency_limit=1),
    Deployment("signal-quality-pipeline", "flows.signal_quality:signal_quality_pipeline",
               "Monthly retrain, purged walk-forward evaluation and champion/challenger registration of the "
               "signal-quality scorer.", ("abtpro", "training"), "0 4 1 * *", concurrency_limit=1),
    Deployment("tuning-pipeline", "flows.tune:tuning_pipeline",
               "Weekly walk-forward re-tuning of every strategy on every daily series (continuous learning).",
               ("abtpro", "tuning"), "0 5 * * 6", {"method": "optuna", "budget": 30}),
    Deployment("tune-strategy", "flows.tune:tune_strategy",
               "Tune one strategy on one series (started by POST /ml/tune/start); at most two at once, the rest "
               "wait in the queue.", ("abtpro", "tuning"), concurrency_limit=TUNE_CONCURRENCY),
)
MONITORING_CHAIN = ("backfill-outcomes", "monitor-models", RETRAIN)

HEADER = f"""\
# GENERATED from flows/deployments.py by `python -m flows.deployments --write-prefect-yaml`: edit the table there.
# Prefect deployments of the ABTPro ML pipeline (`prefect deploy --all --prefect-file infra/prefect.yaml`,
# run from the repository root, /app in the image). Runs execute on the process work pool `{WORK_POOL}`
# (`prefect worker start --pool {WORK_POOL}`); infra/worker.sh does all three steps.
# Deployment names match flow names: a run is `<flow>/<flow>`.
#
# Monitoring chain, on events: every intake emits `{BARS_ARRIVED}` -> trigger `backfill-on-arrival` runs
# backfill-outcomes for the arrived symbols/timeframes -> it emits `{OUTCOMES_RESOLVED}` when it resolved
# outcomes -> trigger `monitor-on-outcomes` runs monitor-models (windows, cooldown_bars and every_bars in bars
# of data time). Fallback schedule: ingest (22:00) -> validate (22:30) -> backfill (22:45) -> monitor (23:00).
# Coalescing: both have concurrency_limit {{limit: 1, collision_strategy: CANCEL_NEW}}: one run at a time, runs
# started by events meanwhile are cancelled, not queued (a replay emits ~250 events in minutes). Nothing is
# lost: every run processes everything pending (the backfill also the bars stored while it ran).
# monitor-models emits the event `{DRIFT_EVENT}` (resource `abtpro.model.<name>`) when a champion's
# accuracy decays beyond tolerance or its inputs drift, outside the retrain cooldown; the trigger of
# `{RETRAIN}` turns that event into a retraining run for that model.
# No build, push or pull steps: `prefect deploy` records the directory it ran from (the repository root;
# /app in the image, where infra/worker.sh deploys) and runs start there.
"""


def flow_of(entrypoint: str):
    """The flow object an entrypoint (``flows.ingest:ingest``) names."""
    module, function = entrypoint.split(":")
    return getattr(import_module(module), function)


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


def build_deployments(names: tuple[str, ...] | None = None) -> list:
    """``RunnerDeployment`` objects of the table (or of ``names`` only), as ``prefect.yaml`` declares them."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig
    from prefect.deployments.runner import EntrypointType
    from prefect.events import DeploymentEventTrigger
    from prefect.schedules import Cron

    unknown = set(names or ()) - {spec.name for spec in DEPLOYMENTS}
    if unknown:
        raise ValueError(f"no deployment named {sorted(unknown)}")
    return [flow_of(spec.entrypoint).to_deployment(
        name=spec.name, description=spec.description, tags=list(spec.tags), parameters=dict(spec.parameters),
        schedules=[Cron(spec.cron, timezone=TIMEZONE)] if spec.cron else None,
        concurrency_limit=(ConcurrencyLimitConfig(**spec.concurrency_limit)
                           if isinstance(spec.concurrency_limit, dict) else spec.concurrency_limit),
        triggers=[DeploymentEventTrigger(**trigger) for trigger in spec.triggers] or None,
        entrypoint_type=EntrypointType.MODULE_PATH)
        for spec in DEPLOYMENTS if names is None or spec.name in names]


def serve(*names: str) -> None:
    """Register and serve the deployments (all, or ``names``) until interrupted."""
    from prefect import serve as prefect_serve

    from flows import patches

    patches.install()
    prefect_serve(*build_deployments(names or None))


def main(argv: list[str] | None = None) -> None:
    """``python -m flows.deployments [--only a,b] [--write-prefect-yaml [PATH]]``."""
    parser = argparse.ArgumentParser(description="Serve the pipeline's deployments, or write infra/prefect.yaml.")
    parser.add_argument("--only", help="comma-separated deployment names to serve (default: all)")
    parser.add_argument("--write-prefect-yaml", nargs="?", const=PREFECT_YAML, type=Path, metavar="PATH",
                        help=f"write the deployments as a prefect.yaml (default {PREFECT_YAML}) and exit")
    args = parser.parse_args(argv)
    if args.write_prefect_yaml:
        args.write_prefect_yaml.write_text(prefect_yaml())
        print(f"wrote {args.write_prefect_yaml}")
        return
    serve(*(args.only.split(",") if args.only else ()))


if __name__ == "__main__":
    main()
