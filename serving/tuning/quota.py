"""The tuning quotas (issue 18): open jobs per key and in all, jobs per key and day (:func:`check_quota`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from serving.tuning.errors import QuotaError
from store import optimizations
from store.users import ApiUser

STALE_HOURS = 6.0


def _recent(url: str, since: datetime, user_id: int | None = None, status: str | None = None,
            cap: int = 10_000) -> list[optimizations.Optimization]:
    rows = optimizations.list_optimizations(url, user_id=user_id, status=status, limit=cap)
    return [r for r in rows if r.created_at >= since]


def check_quota(url: str, user: ApiUser, max_open_per_user: int, max_per_day: int, max_open_total: int,
                now: datetime | None = None) -> None:
    """Refuse a new tuning job beyond the quotas of the module docstring (0 = no such limit).

    Raises:
        QuotaError: naming the limit that was reached.
    """
    from store.models import utcnow

    now = now or utcnow()
    fresh = now - timedelta(hours=STALE_HOURS)
    open_jobs = [r for status in (optimizations.PENDING, optimizations.RUNNING)
                 for r in _recent(url, fresh, status=status)]
    if max_open_total and len(open_jobs) >= max_open_total:
        raise QuotaError(f"the service is running {len(open_jobs)} tuning jobs, its limit "
                         f"(ABTPRO_SERVING_TUNE_MAX_OPEN_TOTAL={max_open_total}); retry when one has finished")
    if user.is_admin:
        return
    mine = [r for r in open_jobs if r.user_id == user.id]
    if max_open_per_user and len(mine) >= max_open_per_user:
        raise QuotaError(f"you have {len(mine)} tuning jobs pending or running, the limit per key "
                         f"(ABTPRO_SERVING_TUNE_MAX_OPEN_PER_USER={max_open_per_user}); wait for one to finish "
                         f"(GET /ml/tune/status/{{job_id}})")
    if max_per_day:
        today = _recent(url, now - timedelta(days=1), user_id=user.id, cap=max_per_day + 1)
        if len(today) >= max_per_day:
            oldest = min(r.created_at for r in today)
            wait = max(1, int((oldest + timedelta(days=1) - now).total_seconds()))
            raise QuotaError(f"you started {len(today)} tuning jobs in the last 24 hours, the limit per key "
                             f"(ABTPRO_SERVING_TUNE_MAX_JOBS_PER_DAY={max_per_day})", retry_after=wait)

