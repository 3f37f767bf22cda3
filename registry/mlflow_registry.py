"""MLflow tracking and model-registry helpers shared by the flows and the BentoML service.

Models are logged as MLflow pyfunc models wrapping a pickled ``ml`` estimator, so approvers see a
standard model in the MLflow UI and ``mlflow models serve`` can serve it, while the service unwraps
the same estimator to use its richer methods (intervals, explanations).
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from abtpro.settings import Settings

VOLATILITY_MODEL = "abtpro-volatility"
SIGNAL_QUALITY_MODEL = "abtpro-signal-quality"
CHAMPION = "champion"
CHALLENGER = "challenger"


def configure(settings: Settings) -> MlflowClient:
    """Point MLflow at the configured tracking/registry store and return a client."""
    if settings.mlflow_tracking_uri is None:
        settings.resolved_data_dir().mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def ensure_experiment(settings: Settings, name: str) -> str:
    """Create the experiment if needed (artifacts under the data dir for a local store); make it active."""
    client = configure(settings)
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = None if settings.mlflow_tracking_uri else f"{settings.artifact_root}/{name}"
        experiment_id = client.create_experiment(name, artifact_location=location)
    else:
        experiment_id = experiment.experiment_id
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


class PickledModel(mlflow.pyfunc.PythonModel):
    """A pyfunc around a pickled estimator exposing ``predict_frame(frame) -> DataFrame``."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["model"], "rb") as fh:
            self.model = pickle.load(fh)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict | None = None) -> pd.DataFrame:
        return self.model.predict_frame(model_input)


def log_model(model: Any, input_example: pd.DataFrame, name: str = "model") -> Any:
    """Log ``model`` (with signature inferred from the example) into the active run; returns ModelInfo."""
    from mlflow.models import infer_signature

    output = model.predict_frame(input_example)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.pkl"
        path.write_bytes(pickle.dumps(model))
        return mlflow.pyfunc.log_model(
            name=name, python_model=PickledModel(), artifacts={"model": str(path)},
            signature=infer_signature(input_example, output), input_example=input_example,
            pip_requirements=[], code_paths=None,
        )


def register(model_uri: str, name: str, tags: dict[str, str], description: str) -> ModelVersion:
    """Register a new version of ``name`` from ``model_uri`` and tag/describe it."""
    client = MlflowClient()
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name, description=f"ABTPro {name}")
    version = mlflow.register_model(model_uri, name, tags=tags)
    client.update_model_version(name, version.version, description=description)
    return client.get_model_version(name, version.version)


#: Registry answers that mean "no such model / no such alias" (anything else, e.g. an unreachable server, raises).
ABSENT_CODES = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}


def alias_version(name: str, alias: str) -> ModelVersion | None:
    """The version holding ``alias``; None only when the model or the alias does not exist.

    Raises:
        MlflowException: the registry could not answer (so an outage is never mistaken for "no champion").
    """
    try:
        return MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException as err:
        if err.error_code in ABSENT_CODES:
            return None
        raise


def set_alias(name: str, alias: str, version: str | int) -> None:
    """Point ``alias`` at ``version``."""
    MlflowClient().set_registered_model_alias(name, alias, str(version))


@dataclass(frozen=True)
class LoadedModel:
    """An unwrapped estimator with the registry coordinates it came from."""

    name: str
    version: str
    run_id: str | None
    model: Any


def load_alias(name: str, alias: str = CHAMPION) -> LoadedModel | None:
    """Load the estimator behind ``models:/name@alias`` (None when no version holds the alias)."""
    version = alias_version(name, alias)
    if version is None:
        return None
    pyfunc = mlflow.pyfunc.load_model(f"models:/{name}/{version.version}")
    return LoadedModel(name, str(version.version), version.run_id, pyfunc.unwrap_python_model().model)


def frame_digest(frame: pd.DataFrame) -> str:
    """Short content hash of a frame (index included): the training data's identity in lineage tags."""
    import hashlib

    values = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    return hashlib.sha256(values.tobytes()).hexdigest()[:16]


def series_digest(bars: dict[str, pd.DataFrame]) -> str:
    """Identity of the training data across series (tag ``data_digest`` of runs and model versions)."""
    return frame_digest(pd.concat(bars, names=["symbol"]))


def code_version() -> str:
    """The git commit of the running code when available, else the package version."""
    import subprocess
    from importlib.metadata import PackageNotFoundError, version

    try:
        __version__ = version("abtpro-ml")
    except PackageNotFoundError:  # running from a checkout that was never installed
        __version__ = "0.0.0"
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


def log_training_data(frames: dict[str, pd.DataFrame], context: str = "training") -> None:
    """Log each series as an MLflow dataset input of the active run (lineage in the MLflow UI)."""
    import mlflow.data

    for name, frame in frames.items():
        dataset = mlflow.data.from_pandas(frame.reset_index(), name=name, digest=frame_digest(frame))
        mlflow.log_input(dataset, context=context)


def run_params(run_id: str | None) -> dict[str, str]:
    """The params of an MLflow run (empty for no run)."""
    return dict(mlflow.get_run(run_id).data.params) if run_id else {}


def version_tags(name: str, version: str | int) -> dict[str, str]:
    """The tags of one model version."""
    return dict(MlflowClient().get_model_version(name, str(version)).tags)


def annotate_version(name: str, version: str, tags: dict[str, str], note: str) -> None:
    """Set ``tags`` on a model version and append ``note`` as a line of its description."""
    client = MlflowClient()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)
    current = client.get_model_version(name, version).description or ""
    client.update_model_version(name, version, description=f"{current}\n{note}")


def champion_context(name: str) -> dict[str, Any] | None:
    """The champion version of ``name`` with its run's metrics (``validation``), params and training ranges
    (tag ``data_ranges``); None when no version holds the alias."""
    import json

    version = alias_version(name, CHAMPION)
    if version is None:
        return None
    run = mlflow.get_run(version.run_id)
    return {"version": str(version.version), "run_id": version.run_id, "validation": dict(run.data.metrics),
            "params": dict(run.data.params), "data_ranges": json.loads(run.data.tags.get("data_ranges", "{}"))}


def load_run_parquet(run_id: str, artifact: str) -> pd.DataFrame | None:
    """A parquet artifact of a run as a frame (None when the run has no such artifact)."""
    folder = artifact.rsplit("/", 1)[0]
    if artifact not in {a.path for a in MlflowClient().list_artifacts(run_id, folder)}:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        return pd.read_parquet(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact,
                                                                   dst_path=tmp))


def log_monitoring_pass(settings: Settings, experiment: str, name: str, version: str, step: int,
                        metrics: dict[str, float], status: str) -> str:
    """Log one monitoring pass into the version's monitoring run (created on first use, tagged
    ``monitored_model``/``monitored_version``) at ``step``; tag the version ``last_monitoring``. Returns the run id."""
    from datetime import UTC, datetime

    experiment_id = ensure_experiment(settings, experiment)
    found = mlflow.search_runs([experiment_id], filter_string=f"tags.monitored_model = '{name}' and "
                                                             f"tags.monitored_version = '{version}'",
                               max_results=1, output_format="list")
    kwargs = {"run_id": found[0].info.run_id} if found else {"run_name": f"monitor-{name}-v{version}"}
    with mlflow.start_run(**kwargs) as run:
        if not found:
            mlflow.set_tags({"monitored_model": name, "monitored_version": version, "task": "monitoring"})
        mlflow.log_metrics(metrics, step=step)
    MlflowClient().set_model_version_tag(name, version, "last_monitoring",
                                         f"{datetime.now(UTC).replace(tzinfo=None):%Y-%m-%d %H:%M} {status}")
    return run.info.run_id


def log_run(settings: Settings, experiment: str, run_name: str, *, params: dict[str, Any],
            metrics: dict[str, float], tags: dict[str, str], bars: dict[str, pd.DataFrame],
            files: Callable[[], dict[str, bytes | str]], steps: dict[int, dict[str, float]] | None = None,
            model: Any = None, example: pd.DataFrame | None = None) -> tuple[str, str | None]:
    """One MLflow run in ``experiment``: params, the finite metrics (and per-step ones), tags plus
    ``code_version``, the series as dataset inputs, the model when given, then the files (run path -> content;
    asked for last, so work still running elsewhere overlaps the logging). Returns the run id and the logged
    model's URI (None without a model)."""
    import math

    def finite(values: dict[str, float]) -> dict[str, float]:
        return {k: float(v) for k, v in values.items() if v is not None and math.isfinite(v)}

    ensure_experiment(settings, experiment)
    with mlflow.start_run(run_name=run_name) as run:
        mlflow.log_params(params)
        mlflow.log_metrics(finite(metrics))
        for step, values in (steps or {}).items():
            mlflow.log_metrics(finite(values), step=step)
        mlflow.set_tags({**tags, "code_version": code_version()})
        log_training_data(bars)
        info = log_model(model, example) if model is not None else None
        with tempfile.TemporaryDirectory() as tmp:
            for path, content in files().items():
                target = Path(tmp) / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content if isinstance(content, bytes) else content.encode())
            mlflow.log_artifacts(tmp)
    return run.info.run_id, info.model_uri if info is not None else None
