"""Small pieces every flow shares: I/O retry policy and settings access."""

from __future__ import annotations

from prefect import Task
from prefect.client.schemas.objects import State, TaskRun

from abtpro.settings import Settings
from abtpro_store.sources import SourceError

IO_RETRIES = 2
IO_RETRY_DELAY_SECONDS = 2


def retry_unless_permanent(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry transient I/O failures, not errors that another attempt cannot fix."""
    try:
        state.result()
    except (SourceError, ValueError, KeyError):
        return False
    except Exception:
        return True
    return False


def task_runner(settings: Settings):
    """The task runner for fan-out flows: Prefect's thread pool, or Dask (``prefect-dask``) on an existing
    scheduler (``ABTPRO_DASK_ADDRESS``) or a local cluster of ``ABTPRO_DASK_WORKERS`` single-threaded processes."""
    if settings.task_runner == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner()
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": settings.dask_workers, "threads_per_worker": 1,
                                         "processes": True, "dashboard_address": None})
