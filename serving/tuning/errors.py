"""The refusals of the tuning endpoints: a conflict with the job's state (409), a run that could not start (503),
a quota reached (429)."""

from __future__ import annotations


class ConflictError(RuntimeError):
    """The job exists but is in the wrong state for the request (409)."""


class JobStartError(RuntimeError):
    """The run could not be handed to a runner (503); the row has been marked FAILED."""


class QuotaError(RuntimeError):
    """The caller (or the service) has as many tuning jobs as it may have now (429)."""

    def __init__(self, message: str, retry_after: int = 60):
        super().__init__(message)
        self.retry_after = retry_after

