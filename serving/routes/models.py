"""``/ml/models/*``: training jobs, champion reloads, the registered versions and their performance."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import bentoml
from fastapi import APIRouter, Depends, Path, Request

import registry
from serving.auth import current_user
from serving.http import MAX_INT32, caller, error, guarded
from serving.inference import NotFoundError
from serving.routes.volatility import accuracy
from serving.schemas import (
    JobStatus,
    ModelInfo,
    ModelList,
    ModelPerformance,
    ModelRef,
    PerformanceReport,
    RegisteredVersion,
    ReloadResult,
    TrainRequest,
)
from store import predictions, records

if TYPE_CHECKING:
    from store.models import MLModelTraining

router = APIRouter()


class ModelRoutes:
    """POST ``/ml/models/train`` and ``/ml/models/reload`` (admin)."""

    @bentoml.api(route="/ml/models/train")
    def models_train(self, request: TrainRequest, /, ctx: bentoml.Context) -> JobStatus:
        """Admin: start a training run in the background; returns the job id at once (202)."""
        user = caller(ctx)
        params: dict[str, Any] = {"symbols": request.symbols}
        if request.model_type == "VOLATILITY":
            params["horizon"] = request.horizon
        job_id = self.jobs.submit(request.model_type, params, actor=user.name)
        ctx.response.status_code = 202
        return job_status(self.db_url, job_id)

    @bentoml.api(route="/ml/models/reload")
    def models_reload(self, ctx: bentoml.Context, models: list[str] | None = None) -> ReloadResult:
        """Admin: re-read the ``champion`` aliases now and swap in any new version."""
        user = caller(ctx)
        chosen = {k: v for k, v in self.slots.items() if not models or k in models or v.name in models}
        changed = [slot.name for slot in chosen.values() if self.poller.reload(slot)]  # every worker follows
        current = {slot.name: (None if slot.current is None else ModelRef(name=slot.name, version=slot.current.version))
                   for slot in self.slots.values()}
        records.audit(self.db_url, user.name, "model.reload", ",".join(s.name for s in chosen.values()),
                      {"changed": changed, "versions": {k: (v.version if v else None) for k, v in current.items()},
                       "errors": {s.name: s.last_error for s in chosen.values() if s.last_error}})
        return ReloadResult(models=current, changed=changed)


@router.get("/models/list", response_model=ModelList)
def models_list(svc: Any = Depends(bentoml.get_current_service)) -> Any:
    """Registered models, their versions and aliases, and the version this server answers with."""
    client = registry.configure(svc.settings)
    infos = []
    for kind, slot in svc.slots.items():
        try:
            versions = client.search_model_versions(f"name='{slot.name}'")
            aliases_of: dict[str, list[str]] = {}
            for alias, version in (client.get_registered_model(slot.name).aliases or {}).items():
                aliases_of.setdefault(str(version), []).append(alias)
        except Exception:  # noqa: BLE001 - registry down / model not registered: report what is served
            versions, aliases_of = [], {}
        regs = [RegisteredVersion(version=str(v.version), aliases=sorted(aliases_of.get(str(v.version), [])),
                                  run_id=v.run_id, tags=dict(v.tags or {}), description=v.description,
                                  created_at=datetime.fromtimestamp(v.creation_timestamp / 1000, UTC)
                                  .replace(tzinfo=None) if v.creation_timestamp else None)
                for v in sorted(versions, key=lambda v: int(v.version), reverse=True)]
        cur = slot.current
        infos.append(ModelInfo(name=slot.name, kind=kind, versions=regs,
                               serving=None if cur is None else ModelRef(name=cur.name, version=cur.version)))
    return ModelList(models=infos)


@router.get("/models/performance", response_model=PerformanceReport)
def models_performance(request: Request, svc: Any = Depends(bentoml.get_current_service)) -> Any:
    """Registry metrics of the serving versions, live metrics from stored predictions, recent trainings.

    An admin sees the live metrics of everyone's predictions and the recent training jobs; any other caller
    sees the live metrics of its own predictions only, and no training jobs (they are admins' jobs)."""
    user = current_user(request.scope)
    scope = None if user.is_admin else user.id
    client = registry.configure(svc.settings)
    out = []
    for kind, slot in svc.slots.items():
        cur = slot.current
        metrics: dict[str, float] = {}
        if cur is not None and cur.run_id:
            try:
                metrics = {k: float(v) for k, v in client.get_run(cur.run_id).data.metrics.items()}
            except Exception:  # noqa: BLE001
                metrics = {}
        if kind == "signal_quality":
            live: dict[str, Any] = predictions.signal_stats(svc.db_url, scope)
        else:
            live = accuracy(svc.db_url, scope, limit=5000).model_dump()
        model_type = "SIGNAL_QUALITY" if kind == "signal_quality" else "VOLATILITY"
        trainings = ([_job_status(r) for r in records.recent_trainings(svc.db_url, model_type, 10)]
                     if user.is_admin else [])
        out.append(ModelPerformance(name=slot.name, registry_metrics=metrics, live=live,
                                    recent_trainings=trainings,
                                    serving=None if cur is None else ModelRef(name=cur.name, version=cur.version)))
    return PerformanceReport(models=out)


@router.get("/models/jobs/{job_id}", response_model=JobStatus)
def models_job(request: Request, job_id: int = Path(ge=1, le=MAX_INT32),
               svc: Any = Depends(bentoml.get_current_service)) -> Any:
    """Status of a training job (the ``MLModelTraining`` row); admins only (any other key: 404, as if unknown)."""
    if not current_user(request.scope).is_admin:
        return error(404, f"no training job {job_id}")
    return guarded(lambda: job_status(svc.db_url, job_id))


def job_status(url: str, job_id: int) -> JobStatus:
    """The API form of training job ``job_id`` (NotFoundError when there is none)."""
    row = records.get_training(url, job_id)
    if row is None:
        raise NotFoundError(f"no training job {job_id}")
    return _job_status(row)


def _job_status(row: MLModelTraining) -> JobStatus:
    return JobStatus(job_id=row.id, model_type=row.model_type, status=row.status, model_version=row.model_version,
                     mlflow_run_id=row.mlflow_run_id, performance=row.performance or {},
                     training_data=row.training_data or {}, error=row.error, started_at=row.started_at,
                     completed_at=row.completed_at)
