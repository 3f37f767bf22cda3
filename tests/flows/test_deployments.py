"""Deployments: the served set (flows.deployments) and infra/prefect.yaml declare the same flows."""

import importlib
from pathlib import Path

import yaml

from flows.deployments import SPECS, build_deployments

PREFECT_YAML = Path(__file__).resolve().parents[2] / "infra" / "prefect.yaml"


def _yaml_deployments() -> dict[str, dict]:
    return {d["name"]: d for d in yaml.safe_load(PREFECT_YAML.read_text())["deployments"]}


def test_served_and_declared_deployments_match_and_are_named_after_their_flows():
    declared = _yaml_deployments()
    assert set(declared) == {spec.flow for spec in SPECS}
    for name, deployment in declared.items():
        path, func = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        assert getattr(module, func).name == name, name
        assert deployment["work_pool"]["name"] == "abtpro-process"


def test_schedules_and_the_drift_trigger():
    declared = _yaml_deployments()
    for spec in SPECS:
        crons = [s["cron"] for s in declared[spec.flow].get("schedules", [])]
        assert crons == ([spec.cron] if spec.cron else []), spec.flow
    [trigger] = declared["retrain-model"]["triggers"]
    assert trigger["expect"] == ["abtpro.model.drift"]
    served = {d.name: d for d in build_deployments()}
    assert served["retrain-model"].triggers and not served["ingest"].triggers
