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
(:mod:`ingestion.events`); :data:`ARRIVAL_TRIGGER` runs ``monitoring-loop`` (:mod:`flows.loop`): the outcome
backfill of the arrived symbols and timeframes, then ``monitor-models``, as two subflows of one run (a triggered
run is a new process: one per arrival, not one per link); monitoring's ``abtpro.model.drift`` runs
``retrain-model`` (:data:`DRIFT_TRIGGER`). The daily cron schedule of ``monitoring-loop`` stays as the fallback
(a missed or dropped event); ``backfill-outcomes`` and ``monitor-models`` are deployments for a run by hand.

Coalescing: a replay emits ~250 arrival events in a few minutes. The monitoring deployments have
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

Modules: :mod:`flows.deployments.spec` (:class:`Deployment`, the work pool, Prefect version, time zone and the
path of ``infra/prefect.yaml``), :mod:`flows.deployments.triggers` (the event triggers, concurrency limits and
monitoring parameters), :mod:`flows.deployments.table` (:data:`DEPLOYMENTS`, :data:`MONITORING_CHAIN`),
:mod:`flows.deployments.yaml_file` (the text of ``infra/prefect.yaml``), :mod:`flows.deployments.runner`
(``RunnerDeployment`` objects, serving them), :mod:`flows.deployments.cli` (:func:`main`, which
``python -m flows.deployments`` runs through :mod:`flows.deployments.__main__`).
"""

from flows.deployments.cli import main
from flows.deployments.runner import build_deployments, flow_of, serve
from flows.deployments.spec import PREFECT_VERSION, PREFECT_YAML, TIMEZONE, WORK_POOL, Deployment
from flows.deployments.table import DEPLOYMENTS, MONITORING_CHAIN
from flows.deployments.triggers import (
    ARRIVAL_TRIGGER,
    COALESCE,
    DRIFT_TRIGGER,
    MONITOR_PARAMETERS,
    TUNE_CONCURRENCY,
    from_event,
)
from flows.deployments.yaml_file import HEADER, prefect_yaml, yaml_entry

__all__ = [
    "ARRIVAL_TRIGGER",
    "COALESCE",
    "DEPLOYMENTS",
    "DRIFT_TRIGGER",
    "HEADER",
    "MONITORING_CHAIN",
    "MONITOR_PARAMETERS",
    "PREFECT_VERSION",
    "PREFECT_YAML",
    "TIMEZONE",
    "TUNE_CONCURRENCY",
    "WORK_POOL",
    "Deployment",
    "build_deployments",
    "flow_of",
    "from_event",
    "main",
    "prefect_yaml",
    "serve",
    "yaml_entry",
]
