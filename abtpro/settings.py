"""Settings, read from the environment (prefix ``ABTPRO_``) by :func:`get_settings`.

Nothing here runs at import time: call :func:`get_settings` where settings are needed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Telemetry switches of the stack: nothing may call home, the pipeline uses no network but loopback.
OFFLINE_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "BENTOML_DO_NOT_TRACK": "true",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "False",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
}


def apply_offline_env() -> None:
    """Switch off the telemetry of every component (explicit values already in the environment win)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)


class Settings(BaseSettings):
    """Where the pipeline keeps its data and which servers it talks to.

    Every default is embedded and local (SQLite, a local MLflow store under ``data_dir``);
    production sets ``DATABASE_URL`` to PostgreSQL and ``ABTPRO_MLFLOW_TRACKING_URI`` to a server.
    """

    model_config = SettingsConfigDict(env_prefix="ABTPRO_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path(".abtpro"), description="Folder for local state (SQLite, MLflow, docs).")
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "ABTPRO_DATABASE_URL"),
        description="SQLAlchemy URL of the app database; default: a SQLite file in data_dir.",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None, description="MLflow tracking URI; default: a SQLite store in data_dir."
    )
    mlflow_artifact_root: str | None = Field(default=None, description="Artifact root for a local store.")
    prefect_port: int = Field(default=4200, description="Port of the local Prefect server started by `abtpro run`.")
    mlflow_port: int = Field(default=5000, description="Port of the local MLflow UI started by `abtpro run`.")
    service_port: int = Field(default=3000, description="Port of the BentoML service started by `abtpro run`.")
    task_runner: Literal["threads", "dask"] = Field(
        default="threads", description="Fan-out of per-series work: threads, or Dask (local cluster or address).")
    dask_address: str | None = Field(default=None, description="Scheduler of an existing Dask cluster.")
    dask_workers: int = Field(default=2, gt=0, description="Workers of the local Dask cluster.")
    retrain_niceness: int = Field(
        default=10, ge=0, le=19,
        description="CPU niceness (os.nice) of a `retrain-model` run in its own process (a deployment run): "
                    "retraining is background work, so the service's answers and the monitoring chain keep the "
                    "CPU first; 0 keeps the normal priority.")
    ingest_chunk_rows: int = Field(default=50_000, gt=0, description="Rows per bulk-insert batch.")
    replay_holdback_days: int = Field(
        default=365, ge=0,
        description="`abtpro run` holds back the last this many days of every bundled daily series, for the "
                    "market replay (`abtpro replay`) to push through the live loop; 0 ingests everything.")
    replay_steps: int | None = Field(
        default=None, gt=0, description="Replay only the first this many held-back bars of each series "
                                        "(default: all of them, a year of daily bars).")
    validation_max_abs_return: float = Field(
        default=0.25, gt=0, description="Great Expectations: largest plausible |bar return|."
    )
    mlflow_webhook_secret: str | None = Field(
        default=None,
        description="HMAC secret of the MLflow registry webhook that reports champion changes to the service "
                    "(POST /ml/models/webhook); default: a random key kept in `<data_dir>/mlflow-webhook.key`.")
    mlflow_admin_password: str | None = Field(
        default=None,
        description="Password of the `admin` account of the local MLflow server's login (basic auth); default: "
                    "a random one kept in `<data_dir>/mlflow-auth/admin.password`.")
    sources_file: Path | None = Field(
        default=None,
        description="YAML file of the sources the `ingest` deployment reads (folder drops, SQL tables; see "
                    "docs/sources.md); default: `<data_dir>/sources.yaml` when it exists.")

    def resolved_sources_file(self) -> Path | None:
        """The sources file in force: the configured one, else ``<data_dir>/sources.yaml`` if it exists."""
        if self.sources_file is not None:
            return self.sources_file.expanduser().resolve()
        default = self.resolved_data_dir() / "sources.yaml"
        return default if default.is_file() else None

    def webhook_secret(self) -> str:
        """The MLflow webhook's HMAC secret in force (the configured one, else the install's key file)."""
        return self.mlflow_webhook_secret or local_secret(self.resolved_data_dir() / "mlflow-webhook.key").hex()

    def resolved_data_dir(self) -> Path:
        """Absolute data folder (created on first use by the caller that writes to it)."""
        return self.data_dir.expanduser().resolve()

    @property
    def db_url(self) -> str:
        """The database URL in force."""
        return self.database_url or f"sqlite:///{self.resolved_data_dir() / 'abtpro.db'}"

    @property
    def tracking_uri(self) -> str:
        """The MLflow tracking URI in force."""
        return self.mlflow_tracking_uri or f"sqlite:///{self.resolved_data_dir() / 'mlflow.db'}"

    @property
    def artifact_root(self) -> str:
        """Where a local MLflow store keeps artifacts."""
        return self.mlflow_artifact_root or (self.resolved_data_dir() / "mlartifacts").as_uri()


def local_secret(path: Path, nbytes: int = 32, printable: bool = False) -> bytes:
    """A per-install secret: ``nbytes`` random bytes (``printable``: URL-safe text of that entropy, e.g. a
    password people type) kept in ``path``, created once with mode 0600 (safe when two processes create it at
    once). Raises ValueError when the file holds fewer than 16 bytes."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # created meanwhile by another process
            pass
        else:
            with os.fdopen(fd, "wb") as fh:
                fh.write(secrets.token_urlsafe(nbytes).encode() if printable else secrets.token_bytes(nbytes))
    key = path.read_bytes()
    if len(key) < 16:
        raise ValueError(f"secret file {path} is too short ({len(key)} bytes); delete it to make a new one")
    return key


def get_settings(**overrides: object) -> Settings:
    """Build settings from the environment, with optional explicit overrides."""
    return Settings(**overrides)
