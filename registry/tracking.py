"""MLflow run logging: where runs go, what one run records, and how the flows read runs back.

Contents, top-down:
- :func:`log_run` — one training/tuning run: params, finite metrics, tags + ``code_version``, the series as
  dataset inputs, the model, the artifact files.
- :func:`log_monitoring_pass` — one monitoring pass into the monitored version's monitoring run.
- :func:`configure`, :func:`ensure_experiment` — point MLflow at the store, make an experiment active.
- lineage: :func:`log_training_data`, :func:`frame_digest`, :func:`series_digest`, :func:`code_version`.
- reading back: :func:`run_params`, :func:`load_run_parquet`.

The model registry (pyfunc logging, registration, aliases, the champion) is :mod:`registry.mlflow_registry`.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow import MlflowClient

from abtpro.settings import Settings
from registry.mlflow_registry import log_model


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
                             check=False, cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{__version__}+{sha}" if sha else __version__


_INPUTS_LOCK = threading.Lock()


def log_training_data(frames: dict[str, pd.DataFrame], context: str = "training") -> None:
    """Log each series as an MLflow dataset input of the active run (lineage in the MLflow UI).

    Runs logging the same dataset at once (the tuning fan-out: one run per strategy of a series) race to create
    its row in MLflow's ``datasets`` table and the loser gets a unique-constraint error: in one process the calls
    are serialised, and across processes (Dask workers) a duplicate is retried, when the row exists and is reused.
    """
    import mlflow.data
    from mlflow.exceptions import MlflowException

    for name, frame in frames.items():
        dataset = mlflow.data.from_pandas(frame.reset_index(), name=name, digest=frame_digest(frame))
        for attempt in range(3):
            try:
                with _INPUTS_LOCK:
                    mlflow.log_input(dataset, context=context)
                break
            except MlflowException as exc:
                text = str(exc).lower()
                if attempt == 2 or not ("unique" in text or "duplicate" in text):
                    raise


def run_params(run_id: str | None) -> dict[str, str]:
    """The params of an MLflow run (empty for no run)."""
    return dict(mlflow.get_run(run_id).data.params) if run_id else {}


def load_run_parquet(run_id: str, artifact: str) -> pd.DataFrame | None:
    """A parquet artifact of a run as a frame (None when the run has no such artifact)."""
    folder = artifact.rsplit("/", 1)[0]
    if artifact not in {a.path for a in MlflowClient().list_artifacts(run_id, folder)}:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        return pd.read_parquet(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact,
                                                                   dst_path=tmp))


def latest_run(settings: Settings, experiment: str, tags: dict[str, str]) -> Any | None:
    """The newest finished run of ``experiment`` carrying all ``tags`` (None when there is none)."""
    configure(settings)
    if MlflowClient().get_experiment_by_name(experiment) is None:  # not yet created (search_runs would warn)
        return None
    found = mlflow.search_runs(experiment_names=[experiment], output_format="list", max_results=1,
                               filter_string=" and ".join(f"tags.{k} = '{v}'" for k, v in tags.items()),
                               order_by=["attributes.start_time DESC"])
    return found[0] if found else None
