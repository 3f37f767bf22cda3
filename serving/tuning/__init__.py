"""Strategy-tuning jobs of the ``/ml/tune/*`` endpoints: a ``StrategyOptimization`` row is the job.

``TuneJobs.submit`` inserts the row (status PENDING, via :func:`store.optimizations.create`),
writes the audit row (action ``tune``) and hands the run to a daemon thread; the request returns in
milliseconds. That thread schedules the Prefect deployment ``tune-strategy/tune-strategy`` when a
server is reachable and has it (``run_deployment(..., timeout=0)``), otherwise it runs the flow
function :func:`flows.tune.tune_strategy` in-process. The flow moves the row PENDING -> RUNNING ->
COMPLETED | FAILED itself (it receives ``optimization_id``); the runner marks it FAILED when the
run could not be started or the flow raised/returned without finishing the row.

The read helpers (:func:`visible_job`, :func:`status_of`, :func:`results_of`) scope jobs to their
owner: another user's job is reported as unknown (404); admins see every job.

Quotas (:func:`check_quota`, issue 18): a non-admin key may have at most ``tune_max_open_per_user`` jobs
PENDING or RUNNING and start at most ``tune_max_jobs_per_day`` in 24 hours, and the service runs at most
``tune_max_open_total`` open jobs of all users (admins included); beyond that ``POST /ml/tune/start``
answers 429 with ``Retry-After``. Open jobs older than :data:`STALE_HOURS` (a run lost with a crashed
service) no longer count. The checks read the job rows, so two requests at the same instant may both pass
(a soft limit); the Prefect deployment's own concurrency limit is the hard one.

Modules: :mod:`serving.tuning.errors` (409, 503 and 429 refusals), :mod:`serving.tuning.quota` (the quotas),
:mod:`serving.tuning.runner` (:class:`TuneJobs`, :func:`require_bars`), :mod:`serving.tuning.read_side` (a job
scoped to its owner, its answers, applying it).
"""

from serving.tuning.errors import ConflictError, JobStartError, QuotaError
from serving.tuning.quota import STALE_HOURS, check_quota
from serving.tuning.read_side import apply_job, job_of, results_of, status_of, visible_job
from serving.tuning.runner import TERMINAL, TUNE_DEPLOYMENT, TUNE_FLOW, TuneJobs, require_bars

__all__ = [
    "STALE_HOURS",
    "TERMINAL",
    "TUNE_DEPLOYMENT",
    "TUNE_FLOW",
    "ConflictError",
    "JobStartError",
    "QuotaError",
    "TuneJobs",
    "apply_job",
    "check_quota",
    "job_of",
    "require_bars",
    "results_of",
    "status_of",
    "visible_job",
]
