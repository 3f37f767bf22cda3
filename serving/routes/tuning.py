"""``/ml/tune/*``: start a strategy-tuning job, apply its result (admin), its status and results."""

from __future__ import annotations

from typing import Any

import bentoml
from fastapi import APIRouter, Depends, Path, Request

from serving.auth import current_user
from serving.http import MAX_INT32, caller, error, guarded
from serving.schemas import TuneApplyRequest, TuneApplyResult, TuneJob, TuneRequest, TuneResults, TuneStatus
from serving.tuning import apply_job, check_quota, job_of, require_bars, results_of, status_of, visible_job

router = APIRouter()


class TuneRoutes:
    """POST ``/ml/tune/start`` and ``/ml/tune/apply`` (admin)."""

    @bentoml.api(route="/ml/tune/start")
    def tune_start(self, request: TuneRequest, /, ctx: bentoml.Context) -> TuneJob:
        """Start walk-forward tuning of a strategy (flow ``tune-strategy``); returns the job id at once (202).
        429 beyond the tuning quotas (open jobs per key and in all, jobs per key and day)."""
        user = caller(ctx)

        def run() -> TuneJob:
            require_bars(self.db_url, request.symbol, request.timeframe)
            check_quota(self.db_url, user, self.serving.tune_max_open_per_user, self.serving.tune_max_jobs_per_day,
                        self.serving.tune_max_open_total)
            job_id = self.tune_jobs.submit(request, user)
            ctx.response.status_code = 202
            return job_of(visible_job(self.db_url, job_id, user))

        return guarded(run, ctx)

    @bentoml.api(route="/ml/tune/apply")
    def tune_apply(self, request: TuneApplyRequest, /, ctx: bentoml.Context) -> TuneApplyResult:
        """Admin: make a COMPLETED tuning result the active parameters of its series (409 unless recommended/force)."""
        user = caller(ctx)
        if not user.is_admin:
            return error(403, "/ml/tune/apply is admin-only", ctx)
        return guarded(lambda: apply_job(self.db_url, request.job_id, user, request.force), ctx)


@router.get("/tune/status/{job_id}", response_model=TuneStatus)
def tune_status(request: Request, job_id: int = Path(ge=1, le=MAX_INT32),
                svc: Any = Depends(bentoml.get_current_service)) -> Any:
    """Status of one of the caller's tuning jobs (admins: any job); error and start/finish times."""
    user = current_user(request.scope)
    return guarded(lambda: status_of(visible_job(svc.db_url, job_id, user)))


@router.get("/tune/results/{job_id}", response_model=TuneResults)
def tune_results(request: Request, job_id: int = Path(ge=1, le=MAX_INT32),
                 svc: Any = Depends(bentoml.get_current_service)) -> Any:
    """Results of a COMPLETED tuning job (409 before): params, verdict, before/after metrics, DSR, PBO."""
    user = current_user(request.scope)
    return guarded(lambda: results_of(visible_job(svc.db_url, job_id, user)))
