"""What a deployment is (:class:`Deployment`) and where and how the pipeline's deployments run."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PREFECT_YAML = Path(__file__).resolve().parents[2] / "infra" / "prefect.yaml"
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
