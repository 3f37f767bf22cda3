"""Small pieces every flow shares: I/O retry policy, task runners and settings access."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
from pandera.errors import SchemaError, SchemaErrors
from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import State, TaskRun

from abtpro.settings import Settings
from data_contracts.bars import BarsFrameSchema
from ingestion.sources import SourceError
from store import bars as store

IO_RETRIES = 2
IO_RETRY_DELAY_SECONDS = 2
WORKER_SATURATION = 1.0  # Dask scheduler: tasks per worker thread at once (see local_cluster)
PRELOAD = "flows.patches"  # Dask preload of every worker: flows.patches.dask_setup installs the Prefect fixes


def retry_unless_permanent(task: Task, task_run: TaskRun, state: State) -> bool:
    """Retry transient I/O failures, not errors that another attempt cannot fix."""
    try:
        state.result()
    except (SourceError, ValueError, KeyError, SchemaError, SchemaErrors):
        return False
    except Exception:
        return True
    return False


def lower_priority(niceness: int) -> bool:
    """Run the rest of this flow run at a lower CPU priority (``os.nice(niceness)``) if it has a process of its own:
    a deployment run the flow runner or a worker started (``PREFECT__FLOW_RUN_ID`` is this run's id), never the
    caller's process (a flow called in-process, a test). Returns whether it did."""
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    run_id = str(context.flow_run.id) if context and context.flow_run else None
    if niceness <= 0 or not hasattr(os, "nice") or run_id is None or os.environ.get("PREFECT__FLOW_RUN_ID") != run_id:
        return False
    os.nice(niceness)
    return True


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, retry_condition_fn=retry_unless_permanent,
      cache_policy=NO_CACHE)
def load_bars(url: str, symbol: str, timeframe: str) -> pd.DataFrame:
    """Stored bars of one series, checked against the bars-frame contract (what every training flow reads).
    A missing series or a contract violation fails at once; database errors are retried."""
    bars = store.read_bars(url, symbol, timeframe)
    if bars.empty:
        raise ValueError(f"no stored bars for {symbol}/{timeframe}; run the ingest flow first")
    return BarsFrameSchema.validate(bars)


def png_files(figures: dict, dpi: int) -> dict[str, bytes]:
    """Matplotlib figures as PNG files (``<name>.png`` -> bytes): what a plotting task returns to its flow, which
    writes them into the MLflow run (figures rendered on the task runner, not serially in the flow)."""
    files = {}
    for name, figure in figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=dpi)
        files[f"{name}.png"] = buffer.getvalue()
    return files


def load_series(url: str, symbols: list[str], timeframe: str) -> dict[str, pd.DataFrame]:
    """Stored bars of every series (one task run each)."""
    return {s: load_bars(url, s, timeframe) for s in symbols}


def task_runner(settings: Settings):
    """The task runner for fan-out flows: Prefect's thread pool, or Dask (``prefect-dask``) on an existing
    scheduler (``ABTPRO_DASK_ADDRESS``) or a local cluster of ``ABTPRO_DASK_WORKERS`` single-threaded processes.
    Installs the Prefect fixes of :mod:`flows.patches` in this (the flow's) process."""
    from flows import patches

    patches.install()
    if settings.task_runner == "threads":
        from prefect.task_runners import ThreadPoolTaskRunner

        return ThreadPoolTaskRunner()
    from prefect_dask import DaskTaskRunner

    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(cluster_class=local_cluster, cluster_kwargs=local_cluster_kwargs(settings))


def task_threads(configured: int) -> int:
    """Threads a task run may use: on a Dask worker, at most the worker's own thread count (the scheduler
    places one task per worker thread, so a task using more oversubscribes the cores its neighbours run on);
    elsewhere (the thread runner, a plain call) ``configured``."""
    try:
        from distributed import get_worker

        return max(1, min(configured, get_worker().state.nthreads))
    except (ImportError, ValueError):  # not on a Dask worker
        return configured


def local_cluster_kwargs(settings: Settings) -> dict:
    """``distributed.LocalCluster`` arguments: ``ABTPRO_DASK_WORKERS`` single-threaded worker processes."""
    return {"n_workers": settings.dask_workers, "threads_per_worker": 1, "processes": True,
            "dashboard_address": None}


def local_cluster(**kwargs):
    """A ``distributed.LocalCluster`` whose scheduler sends a worker no more tasks than it has threads.

    Dask's default ``worker-saturation`` (1.1) rounds up to two tasks per single-threaded worker: near the end
    of a fan-out a worker then sits idle while a task waits behind another one's on its neighbour. 1.0 keeps
    the rest queued on the scheduler for whichever worker frees up first (set the same on a production
    scheduler: ``DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION=1.0``).
    """
    import dask
    from distributed import LocalCluster

    with dask.config.set({"distributed.scheduler.worker-saturation": WORKER_SATURATION}):
        return LocalCluster(preload=[PRELOAD], **kwargs)  # each worker installs the Prefect fixes


@contextmanager
def shared_dask_cluster(settings: Settings) -> Iterator[Settings]:
    """One local Dask cluster for a run of several fan-out flows (the CLI's pipeline), instead of one per flow.

    With ``ABTPRO_TASK_RUNNER=dask`` and no ``ABTPRO_DASK_ADDRESS``, starts a local cluster and points
    ``ABTPRO_DASK_ADDRESS`` at it for the duration (flows read settings when they run); otherwise a no-op.
    Yields the settings the flows will see.
    """
    if settings.task_runner != "dask" or settings.dask_address:
        yield settings
        return
    previous = os.environ.get("ABTPRO_DASK_ADDRESS")
    with local_cluster(**local_cluster_kwargs(settings)) as cluster:
        os.environ["ABTPRO_DASK_ADDRESS"] = cluster.scheduler_address
        try:
            yield settings.model_copy(update={"dask_address": cluster.scheduler_address})
        finally:
            if previous is None:
                os.environ.pop("ABTPRO_DASK_ADDRESS", None)
            else:
                os.environ["ABTPRO_DASK_ADDRESS"] = previous
