"""The table as Prefect ``RunnerDeployment`` objects, served in this process (``prefect.serve``)."""

from __future__ import annotations

from importlib import import_module

from flows.deployments.spec import TIMEZONE
from flows.deployments.table import DEPLOYMENTS


def flow_of(entrypoint: str):
    """The flow object an entrypoint (``flows.ingest:ingest``) names."""
    module, function = entrypoint.split(":")
    return getattr(import_module(module), function)


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
