"""The MLflow model registry shared by the flows and the BentoML service.

Contents, top-down:
- model names and aliases: :data:`VOLATILITY_MODEL`, :data:`SIGNAL_QUALITY_MODEL`, :data:`CHAMPION`,
  :data:`CHALLENGER`.
- the model format: :class:`PickledModel`, :func:`log_model`.
- registration and aliases: :func:`register`, :func:`alias_version`, :func:`set_alias`.
- the champion: :class:`LoadedModel`, :func:`load_alias`, :func:`champion_context`.
- version metadata: :func:`version_tags`, :func:`annotate_version`.

Models are logged as MLflow pyfunc models wrapping a pickled ``ml`` estimator, so approvers see a
standard model in the MLflow UI and ``mlflow models serve`` can serve it, while the service unwraps
the same estimator to use its richer methods (intervals, explanations). Run logging (experiments, params,
metrics, lineage, artifacts) is :mod:`registry.tracking`.
"""

from __future__ import annotations

import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

VOLATILITY_MODEL = "abtpro-volatility"
SIGNAL_QUALITY_MODEL = "abtpro-signal-quality"
CHAMPION = "champion"
CHALLENGER = "challenger"


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
