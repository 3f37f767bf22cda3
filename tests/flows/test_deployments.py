"""Deployments are declared once (flows.deployments.DEPLOYMENTS): the served set and infra/prefect.yaml come from it."""

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flows import deployments
from flows.deployments import (
    DEPLOYMENTS,
    MONITORING_CHAIN,
    PREFECT_YAML,
    build_deployments,
    flow_of,
    prefect_yaml,
)

ROOT = Path(__file__).resolve().parents[2]


def _yaml_deployments() -> dict[str, dict]:
    return {d["name"]: d for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}


def test_the_committed_prefect_yaml_is_the_generated_one():
    assert PREFECT_YAML == ROOT / "infra" / "prefect.yaml"
    assert PREFECT_YAML.read_text() == prefect_yaml(), (
        "infra/prefect.yaml differs from flows.deployments: run `python -m flows.deployments --write-prefect-yaml`")


def test_every_deployment_is_named_after_its_flow_on_the_process_pool():
    declared = _yaml_deployments()
    assert list(declared) == [spec.name for spec in DEPLOYMENTS]
    for name, deployment in declared.items():
        assert flow_of(deployment["entrypoint"]).name == name, name
        assert deployment["work_pool"] == {"name": "abtpro-process", "work_queue_name": "default"}
    assert set(MONITORING_CHAIN) <= set(declared)


def test_schedules_parameters_and_the_drift_trigger_in_the_yaml():
    declared = _yaml_deployments()
    crons = {name: [s["cron"] for s in d.get("schedules", [])] for name, d in declared.items()}
    assert crons == {"monitoring-loop": ["45 22 * * 1-5"], "backfill-outcomes": [], "monitor-models": [],
                     "retrain-model": [],
                     "ingest": ["0 22 * * 1-5"], "validate": ["30 22 * * 1-5"], "volatility-pipeline": ["0 3 1 * *"],
                     "signal-quality-pipeline": ["0 4 1 * *"], "tuning-pipeline": ["0 5 * * 6"], "tune-strategy": []}
    assert all(s["timezone"] == "UTC" for d in declared.values() for s in d.get("schedules", []))
    assert declared["tuning-pipeline"]["parameters"] == {"method": "optuna", "budget": 30}
    assert declared["monitor-models"]["parameters"]["dispatch"] == "event"
    assert declared["monitoring-loop"]["parameters"]["monitor"] == declared["monitor-models"]["parameters"]
    [trigger] = declared["retrain-model"]["triggers"]
    assert trigger["type"] == "event" and trigger["expect"] == ["abtpro.model.drift"]
    assert trigger["match"] == {"prefect.resource.id": "abtpro.model.*"}
    assert trigger["parameters"] == {"model": "{{ event.resource.name }}",
                                     "trigger_id": "{{ event.payload.trigger_id }}"}
    assert [n for n, d in declared.items() if d.get("concurrency_limit") == 1] == [
        "retrain-model", "volatility-pipeline", "signal-quality-pipeline"]
    # POST /ml/tune/start schedules tune-strategy runs: at most two run at once, the others wait (issue 18)
    assert declared["tune-strategy"]["concurrency_limit"] == {"limit": 2, "collision_strategy": "ENQUEUE"}


def test_served_deployments_are_the_declared_ones():
    declared = _yaml_deployments()
    served = {d.name: d for d in build_deployments()}
    assert list(served) == list(declared)
    for name, d in served.items():
        spec = declared[name]
        assert d.flow_name == name and d.description == spec["description"], name
        assert d.entrypoint == spec["entrypoint"].replace(":", "."), name  # a module path, as in the yaml
        assert d.tags == spec["tags"] and d.parameters == spec.get("parameters", {}), name
        assert [(s.schedule.cron, s.schedule.timezone) for s in d.schedules] == [
            (s["cron"], s["timezone"]) for s in spec.get("schedules", [])], name
        declared_limit = spec.get("concurrency_limit")
        if isinstance(declared_limit, dict):
            declared_limit = declared_limit["limit"]
        assert getattr(d.concurrency_limit, "limit", d.concurrency_limit) == declared_limit, name
        assert len(d.triggers) == len(spec.get("triggers", [])), name
    [trigger] = served["retrain-model"].triggers
    assert trigger.name == "retrain-on-drift" and trigger.expect == {"abtpro.model.drift"}
    assert trigger.match.root == {"prefect.resource.id": "abtpro.model.*"}
    assert trigger.parameters == declared["retrain-model"]["triggers"][0]["parameters"]


def test_a_subset_is_served_by_name_and_an_unknown_name_is_refused():
    assert [d.name for d in build_deployments(MONITORING_CHAIN)] == list(MONITORING_CHAIN)
    with pytest.raises(ValueError, match="no deployment named \\['nope'\\]"):
        build_deployments(("ingest", "nope"))


def test_write_prefect_yaml_writes_the_generated_file(tmp_path: Path):
    target = tmp_path / "prefect.yaml"
    out = subprocess.run([sys.executable, "-m", "flows.deployments", "--write-prefect-yaml", str(target)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, check=True)
    assert target.read_text() == prefect_yaml() and str(target) in out.stdout
    assert deployments.main.__doc__ and "--write-prefect-yaml" in deployments.main.__doc__


def test_prefect_loads_every_entrypoint_in_a_fresh_process():
    """As a worker's flow-run process does (a file path would put ``flows/`` first on ``sys.path``, where
    ``flows/ingest.py`` hides the ``ingest`` package and ``flows/validate.py`` failed to import)."""
    code = ("import sys; from prefect.flows import load_flow_from_entrypoint\n"
            "print(' '.join(load_flow_from_entrypoint(e).name for e in sys.argv[1:]))")
    entrypoints = [d["entrypoint"] for d in _yaml_deployments().values()]
    assert all(":" in e and "/" not in e and ".py" not in e for e in entrypoints)
    out = subprocess.run([sys.executable, "-c", code, *entrypoints], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=True)
    assert out.stdout.split() == [spec.name for spec in DEPLOYMENTS]


def test_the_monitoring_chain_runs_on_events_one_run_at_a_time():
    from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate

    declared = _yaml_deployments()
    coalesce = {"limit": 1, "collision_strategy": "CANCEL_NEW"}
    [arrival] = declared["monitoring-loop"]["triggers"]
    assert arrival["name"] == "loop-on-arrival"
    assert arrival["expect"] == ["abtpro.bars.arrived"] and arrival["match"] == {"prefect.resource.id": "abtpro.bars.*"}
    # one run per arrival does both links (backfill, then monitoring): no trigger chains them any more
    assert "triggers" not in declared["backfill-outcomes"] and "triggers" not in declared["monitor-models"]
    for name in ("monitoring-loop", "backfill-outcomes", "monitor-models"):
        assert declared[name]["concurrency_limit"] == coalesce, name
    params = declared["monitoring-loop"]["parameters"]["monitor"]
    assert params["cooldown_bars"] == 20 and params["every_bars"] == 5 and "cooldown_hours" not in params
    # the series of the event reach the flow as lists (Prefect's json + jinja hydration, as the server renders it)
    event = {"payload": {"symbols": ["NASDAQ", "SP500"], "timeframes": ["1d"]}}
    rendered = hydrate(arrival["parameters"], HydrationContext(raise_on_error=True, render_jinja=True,
                                                               jinja_context={"event": event}))
    assert rendered == {"symbols": ["NASDAQ", "SP500"], "timeframes": ["1d"]}
    served = {d.name: d for d in build_deployments(("monitoring-loop", "backfill-outcomes", "monitor-models"))}
    for d in served.values():
        assert d.concurrency_limit == 1 and d.concurrency_options.collision_strategy.value == "CANCEL_NEW"
    assert [t.expect for t in served["monitoring-loop"].triggers] == [{"abtpro.bars.arrived"}]
    assert not served["backfill-outcomes"].triggers and not served["monitor-models"].triggers
