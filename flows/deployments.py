"""Every flow as a Prefect deployment, served by one long-running process.

``python -m flows.deployments`` registers the deployments with the Prefect server in
``PREFECT_API_URL`` and executes their scheduled and triggered runs (``prefect.serve``). The same
schedules are declared in ``infra/prefect.yaml`` for a work-pool based production setup.
Deployment names match flow names, so a run is addressed as ``<flow>/<flow>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module

from prefect import serve

from flows.retrain import drift_trigger


@dataclass(frozen=True)
class DeploymentSpec:
    """Where a flow lives, when it runs and which events start it."""

    module: str
    flow: str
    cron: str | None = None
    description: str = ""
    retrain_on_drift: bool = False


SPECS: tuple[DeploymentSpec, ...] = (
    DeploymentSpec("flows.ingest", "ingest", "0 22 * * 1-5", "Daily ingestion of market bars after the close."),
    DeploymentSpec("flows.validate", "validate", "30 22 * * 1-5", "Daily Great Expectations checkpoint."),
    DeploymentSpec("flows.backfill", "backfill-outcomes", "45 22 * * 1-5",
                   "Resolve forecasts and scored signals whose horizon has passed."),
    DeploymentSpec("flows.monitor", "monitor-models", "0 23 * * 1-5",
                   "Live accuracy and drift of every champion; fires abtpro.model.drift."),
    DeploymentSpec("flows.volatility", "volatility-pipeline", "0 3 1 * *",
                   "Monthly retrain + champion/challenger registration of the volatility predictor."),
    DeploymentSpec("flows.signal_quality", "signal-quality-pipeline", "0 4 1 * *",
                   "Monthly retrain + champion/challenger registration of the signal-quality scorer."),
    DeploymentSpec("flows.tune", "tuning-pipeline", "0 5 * * 6", "Weekly walk-forward re-tuning of every strategy."),
    DeploymentSpec("flows.tune", "tune-strategy", None, "Tune one strategy (started by POST /ml/tune/start)."),
    DeploymentSpec("flows.retrain", "retrain-model", None,
                   "Retrain a model when monitoring reports drift (event trigger).", retrain_on_drift=True),
)


def build_deployments(specs: tuple[DeploymentSpec, ...] = SPECS) -> list:
    """``RunnerDeployment`` objects for ``specs``, named after their flows."""
    deployments = []
    for spec in specs:
        flow_obj = next(obj for obj in vars(import_module(spec.module)).values()
                        if getattr(obj, "name", None) == spec.flow and hasattr(obj, "to_deployment"))
        deployments.append(flow_obj.to_deployment(
            name=spec.flow, cron=spec.cron, description=spec.description, tags=["abtpro"],
            triggers=[drift_trigger()] if spec.retrain_on_drift else None))
    return deployments


def main() -> None:
    """Register and serve every deployment until interrupted."""
    serve(*build_deployments())


if __name__ == "__main__":
    main()
