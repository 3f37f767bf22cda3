"""The platform endpoints: bars (feeder), models, training and audit (admin), strategy tuning."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from abtpro.client.transport import MAX_BARS, Transport, _chunks, _Empty
from serving.schemas import (
    AuditPage,
    BarsPushRequest,
    BarsPushResult,
    JobStatus,
    ModelList,
    PerformanceReport,
    PushBar,
    ReloadResult,
    TrainRequest,
    TuneApplyRequest,
    TuneApplyResult,
    TuneJob,
    TuneRequest,
    TuneResults,
    TuneStatus,
)


class BarsMethods(Transport):
    """``POST /ml/bars`` (feeder or admin key)."""

    def push_bars(self, bars: Iterable[PushBar | dict[str, Any]], source: str | None = None) -> list[BarsPushResult]:
        """Push raw bars (feeder or admin key; ``POST /ml/bars`` in calls of at most 10,000 bars). Invalid rows
        come back in each answer's ``rejected`` with their reasons; they are quarantined, not lost."""
        items = [b if isinstance(b, PushBar) else PushBar(**b) for b in bars]
        return [self._call("POST", "/ml/bars", BarsPushResult, BarsPushRequest(bars=chunk, source=source))
                for chunk in _chunks(items, MAX_BARS)]


class ModelMethods(Transport):
    """``/ml/models/*`` and ``/ml/audit``."""

    def models(self) -> ModelList:
        """Registered models, their versions and aliases, and the versions being served."""
        return self._call("GET", "/ml/models/list", ModelList)

    def performance(self) -> PerformanceReport:
        """Registry and live metrics of the served versions."""
        return self._call("GET", "/ml/models/performance", PerformanceReport)

    def train(self, request: TrainRequest | None = None, **fields: Any) -> JobStatus:
        """Admin: start a training job (``POST /ml/models/train``); poll :meth:`training_job`."""
        return self._call("POST", "/ml/models/train", JobStatus, request or TrainRequest(**fields))

    def training_job(self, job_id: int) -> JobStatus:
        return self._call("GET", f"/ml/models/jobs/{int(job_id)}", JobStatus)

    def audit(self, **filters: Any) -> AuditPage:
        """Admin: the audit log, newest first (``actor``, ``action`` (``risk.*`` for a prefix), ``target``,
        ``start``, ``end``, ``limit``, ``offset``)."""
        return self._call("GET", "/ml/audit", AuditPage, params=filters)

    def reload(self) -> ReloadResult:
        """Admin: re-read the ``champion`` aliases now."""
        return self._call("POST", "/ml/models/reload", ReloadResult, _Empty())


class TuningMethods(Transport):
    """``/ml/tune/*``."""

    def tune(self, request: TuneRequest | None = None, **fields: Any) -> TuneJob:
        """Start a strategy-tuning job (``POST /ml/tune/start``); poll :meth:`tune_status`."""
        return self._call("POST", "/ml/tune/start", TuneJob, request or TuneRequest(**fields))

    def tune_status(self, job_id: int) -> TuneStatus:
        return self._call("GET", f"/ml/tune/status/{int(job_id)}", TuneStatus)

    def tune_results(self, job_id: int) -> TuneResults:
        return self._call("GET", f"/ml/tune/results/{int(job_id)}", TuneResults)

    def tune_apply(self, job_id: int, force: bool = False) -> TuneApplyResult:
        """Make a completed job's parameters the strategy's active ones."""
        return self._call("POST", "/ml/tune/apply", TuneApplyResult, TuneApplyRequest(job_id=job_id, force=force))
