"""Training jobs started from the API: an ``MLModelTraining`` row is the job; the work runs elsewhere.

``submit`` inserts the row (status TRAINING) and returns its id at once. The training itself runs
as a Prefect deployment when one named like ``train-volatility/train-volatility`` exists on a
reachable Prefect server (``run_deployment(..., timeout=0)`` returns as soon as the flow run is
scheduled; a worker or ``serve`` process runs it), otherwise as the flow function in a daemon
thread of this process. The flow updates the row to COMPLETED/FAILED itself (it receives
``training_id`` and ``actor``); the runner also marks it FAILED when the flow raises before doing so, and
COMPLETED when a flow returns without touching it.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from store import records

logger = logging.getLogger("abtpro.serving.jobs")

MODEL_TYPES = ("VOLATILITY", "SIGNAL_QUALITY")


@dataclass(frozen=True)
class JobSpec:
    """What to run for one model type: the flow function (``module:function``) and its deployment."""

    flow: str | Callable[..., Any]
    deployment: str | None


def resolve(target: str | Callable[..., Any]) -> Callable[..., Any]:
    """Import ``module:function`` lazily (the flow modules import Prefect and the ml stack)."""
    if callable(target):
        return target
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def schedule_deployment(name: str, parameters: dict[str, Any]) -> str | None:
    """Schedule a run of deployment ``name`` if it exists; None when there is none or no server (the
    caller then runs the flow in-process)."""
    try:
        from prefect.deployments import run_deployment

        run = run_deployment(name=name, parameters=parameters, timeout=0)
        return str(run.id)
    except Exception as exc:  # noqa: BLE001 - no server / no deployment: fall back to a thread
        logger.info("deployment %s not usable (%s); running the flow in-process", name, exc)
        return None


class TrainingJobs:
    """Start training runs without blocking the request.

    Args:
        db_url: app database.
        specs: model type -> :class:`JobSpec`.
        use_deployments: look for a Prefect deployment first (only when ``PREFECT_API_URL`` is set,
            so that no temporary Prefect server is started inside the API process just to look).
    """

    def __init__(self, db_url: str, specs: dict[str, JobSpec], use_deployments: bool = True):
        self.db_url = db_url
        self.specs = specs
        self.use_deployments = use_deployments
        self._threads: dict[int, threading.Thread] = {}

    def submit(self, model_type: str, params: dict[str, Any], actor: str) -> int:
        """Create the job row, audit the request and hand the job to a background thread; returns the id.

        Everything slow (asking Prefect for the deployment, importing the flow module) happens in
        that thread, so the request returns in milliseconds.
        """
        spec = self.specs[model_type]
        job_id = records.request_training(self.db_url, model_type, params, actor)
        thread = threading.Thread(target=self._dispatch, args=(job_id, spec, params, actor),
                                  name=f"abtpro-train-{job_id}", daemon=True)
        self._threads[job_id] = thread
        thread.start()
        return job_id

    def _dispatch(self, job_id: int, spec: JobSpec, params: dict[str, Any], actor: str) -> None:
        try:
            flow_run_id = None
            if self.use_deployments and spec.deployment and os.environ.get("PREFECT_API_URL"):
                flow_run_id = self._run_deployment(spec.deployment, {**params, "training_id": job_id, "actor": actor})
            runner = f"prefect-deployment:{spec.deployment}" if flow_run_id else "thread"
            records.audit(self.db_url, actor, "model.train.dispatched", f"job:{job_id}",
                          {"runner": runner, "flow_run_id": flow_run_id})
            if flow_run_id is None:
                self._run_local(job_id, spec, params, actor)
        finally:
            self._threads.pop(job_id, None)

    def _run_deployment(self, name: str, parameters: dict[str, Any]) -> str | None:
        return schedule_deployment(name, parameters)

    def _run_local(self, job_id: int, spec: JobSpec, params: dict[str, Any], actor: str) -> None:
        try:
            flow = resolve(spec.flow)
            flow(**params, training_id=job_id, actor=actor)
        except BaseException as exc:
            logger.exception("training job %s failed", job_id)
            self._finish(job_id, "FAILED", f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
        else:
            self._finish(job_id, "COMPLETED", None)

    def _finish(self, job_id: int, status: str, error: str | None) -> None:
        """Set the final status unless the flow already did."""
        records.finish_training(self.db_url, job_id, status=status, error=error, unless_finished=True)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Join the local thread of a job (tests)."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)
