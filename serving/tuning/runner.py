"""Starting tuning runs: :class:`TuneJobs` creates the row, audits it and dispatches the run (a Prefect deployment
or a thread); :func:`require_bars` checks the series first."""

from __future__ import annotations

import logging
import os
import threading
import traceback
from collections.abc import Callable
from typing import Any

from serving.inference import NotFoundError, load_bars
from serving.jobs import resolve, schedule_deployment
from serving.schemas import TuneRequest
from serving.tuning.errors import JobStartError
from store import optimizations, records
from store.users import ApiUser

logger = logging.getLogger("abtpro.serving.tuning")

TUNE_FLOW = "flows.tune:tune_strategy"
TUNE_DEPLOYMENT = "tune-strategy/tune-strategy"
TERMINAL = (optimizations.COMPLETED, optimizations.FAILED)



def _defaults(strategy: str) -> dict[str, Any]:
    from ml.strategies import get_strategy_class

    return get_strategy_class(strategy)().params()



class TuneJobs:
    """Start tuning runs without blocking the request.

    Args:
        db_url: app database.
        flow: the tune flow function or ``module:function``.
        deployment: Prefect deployment ``flow/deployment`` tried first.
        use_deployments: look for the deployment (only when ``PREFECT_API_URL`` is set).
    """

    def __init__(self, db_url: str, flow: str | Callable[..., Any] = TUNE_FLOW,
                 deployment: str | None = TUNE_DEPLOYMENT, use_deployments: bool = True):
        self.db_url = db_url
        self.flow = flow
        self.deployment = deployment
        self.use_deployments = use_deployments
        self._threads: dict[int, threading.Thread] = {}

    def submit(self, request: TuneRequest, user: ApiUser) -> int:
        """Create the PENDING row, audit the request and start the run in a daemon thread; returns the id.

        Raises:
            JobStartError: the thread could not be started (the row is marked FAILED first).
        """
        settings = {"budget": request.budget, "n_windows": request.n_windows, "seed": request.seed}
        job_id = optimizations.create(self.db_url, request.strategy, request.symbol, request.timeframe,
                                      request.method, user_id=user.id, original_params=_defaults(request.strategy),
                                      request=settings)
        params = {"strategy": request.strategy, "symbol": request.symbol, "timeframe": request.timeframe,
                  "method": request.method, **settings, "optimization_id": job_id, "user_id": user.id}
        records.audit(self.db_url, user.name, "tune", f"strategy_optimization/{job_id}",
                      {k: v for k, v in params.items() if k != "optimization_id"})
        thread = threading.Thread(target=self._dispatch, args=(job_id, params, user.name),
                                  name=f"abtpro-tune-{job_id}", daemon=True)
        self._threads[job_id] = thread
        try:
            thread.start()
        except Exception as exc:  # e.g. "can't start new thread"
            self._threads.pop(job_id, None)
            optimizations.fail(self.db_url, job_id, f"could not start the tuning run: {type(exc).__name__}: {exc}")
            raise JobStartError(f"tuning job {job_id} could not be started: {exc}") from exc
        return job_id

    def _dispatch(self, job_id: int, params: dict[str, Any], actor: str) -> None:
        try:
            flow_run_id = None
            if self.use_deployments and self.deployment and os.environ.get("PREFECT_API_URL"):
                flow_run_id = self._run_deployment(self.deployment, params)
            runner = f"prefect-deployment:{self.deployment}" if flow_run_id else "thread"
            records.audit(self.db_url, actor, "tune.dispatched", f"strategy_optimization/{job_id}",
                          {"runner": runner, "flow_run_id": flow_run_id})
            if flow_run_id is None:
                self._run_local(job_id, params)
        except BaseException as exc:  # never leave a PENDING row behind
            logger.exception("tuning job %s could not be dispatched", job_id)
            self._fail_unfinished(job_id, f"could not start the tuning run: {type(exc).__name__}: {exc}")
        finally:
            self._threads.pop(job_id, None)

    def _run_deployment(self, name: str, parameters: dict[str, Any]) -> str | None:
        return schedule_deployment(name, parameters)

    def _run_local(self, job_id: int, params: dict[str, Any]) -> None:
        try:
            resolve(self.flow)(**params)
        except BaseException as exc:  # the flow marks the row itself when it got that far
            logger.exception("tuning job %s failed", job_id)
            self._fail_unfinished(job_id, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
        else:
            self._fail_unfinished(job_id, "the tune flow returned without recording a result")

    def _fail_unfinished(self, job_id: int, error: str) -> None:
        """Mark the row FAILED unless the flow already finished it."""
        row = optimizations.get(self.db_url, job_id)
        if row is not None and row.status not in TERMINAL:
            optimizations.fail(self.db_url, job_id, error)

    def wait(self, job_id: int, timeout: float | None = None) -> None:
        """Join the local thread of a job (tests)."""
        thread = self._threads.get(job_id)
        if thread is not None:
            thread.join(timeout)


def require_bars(url: str, symbol: str, timeframe: str) -> None:
    """Raise :class:`NotFoundError` (404) when the store has no bars of (symbol, timeframe)."""
    try:
        load_bars(url, symbol, timeframe, [None], 1)
    except NotFoundError:
        raise NotFoundError(f"unknown symbol {symbol!r} (timeframe {timeframe}): no bars in the store; "
                            "ingest them first") from None

