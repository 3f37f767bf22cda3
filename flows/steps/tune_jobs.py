"""The tuning job and its bookkeeping (:mod:`flows.tune`): what a job is, what it produced, and the tasks that
move its ``StrategyOptimization`` row.

Contents, top-down:
- :class:`TuneJob`, :class:`TuneOutcome`, :class:`ApplyOutcome`, :func:`method_key` and the constants.
- job-row tasks: :func:`start_job`, :func:`complete_job`, :func:`fail_job`, :func:`apply_result`.
- :func:`already_tuned` — the jobs an unforced fan-out need not run again.
- :func:`ensure_samples` — ingest the bundled series the store lacks (``python -m flows.tune``).

The tuning itself and the recording of a result are :mod:`flows.steps.tune`.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from flows.common import IO_RETRIES, IO_RETRY_DELAY_SECONDS, retry_unless_permanent
from ml.strategies import STRATEGIES, get_strategy_class
from ml.tuner import METHODS
from store import bars as store
from store import optimizations

EXPERIMENT = "abtpro-tuning"
DEFAULT_STRATEGIES = tuple(STRATEGIES)
COMMISSION = 0.001
TRAIN_MULTIPLE = 2


@dataclass(frozen=True)
class TuneJob:
    """One tuning job: what to tune, where, how, and its ``StrategyOptimization`` row."""

    strategy: str
    symbol: str
    timeframe: str
    method: str
    budget: int
    n_windows: int
    seed: int
    user_id: int | None = None
    optimization_id: int | None = None
    max_pbo: float = 0.5  # the evidence a recommendation needs (ml.tuner.tuning.Evidence)
    min_dsr: float = 0.5

    def request(self) -> dict:
        """The settings stored with the row (``performance["request"]``)."""
        return {"budget": self.budget, "n_windows": self.n_windows, "seed": self.seed,
                "train_multiple": TRAIN_MULTIPLE, "commission": COMMISSION, "max_pbo": self.max_pbo,
                "min_dsr": self.min_dsr}


@dataclass(frozen=True)
class TuneOutcome:
    """What a tuning job produced (``status`` FAILED carries ``error`` and no results)."""

    optimization_id: int
    strategy: str
    symbol: str
    timeframe: str
    method: str
    status: str
    recommended: bool = False
    original_params: dict | None = None
    optimized_params: dict | None = None
    oos_improvement: float | None = None
    deflated_sharpe: float | None = None
    pbo: float | None = None
    run_id: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class ApplyOutcome:
    """The parameters now active for (strategy, symbol, timeframe), and who applied them."""

    optimization_id: int
    strategy: str
    symbol: str | None
    timeframe: str | None
    params: dict
    applied_by: str
    forced: bool


def method_key(method: str) -> str:
    """A key of :data:`ml.tuner.METHODS`, case-insensitive (``"OPTUNA"`` -> ``"optuna"``)."""
    key = method.strip().lower()
    if key not in METHODS:
        raise ValueError(f"unknown tuning method {method!r}; choose from {sorted(METHODS)}")
    return key


# ------------------------------------------------------------------------------------------- tasks


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, retry_condition_fn=retry_unless_permanent,
      cache_policy=NO_CACHE)
def start_job(url: str, job: TuneJob) -> int:
    """Mark the job's row RUNNING (creating it unless the API pre-created it); returns its id."""
    return optimizations.start(url, job.strategy, job.symbol, job.timeframe, job.method.upper(),
                               optimization_id=job.optimization_id, user_id=job.user_id,
                               original_params=_defaults(job.strategy), request=job.request())


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def complete_job(url: str, optimization_id: int, optimized_params: dict, performance: dict,
                 original_params: dict) -> optimizations.Optimization:
    """Store the results and mark the row COMPLETED."""
    return optimizations.complete(url, optimization_id, optimized_params=optimized_params,
                                  performance=performance, original_params=original_params)


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def fail_job(url: str, optimization_id: int, error: str) -> optimizations.Optimization:
    """Mark the row FAILED with the reason."""
    return optimizations.fail(url, optimization_id, error)


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, retry_condition_fn=retry_unless_permanent,
      cache_policy=NO_CACHE)
def apply_result(url: str, optimization_id: int, actor: str, force: bool) -> optimizations.Optimization:
    """Make the result the active parameters of its series (refusals are not retried)."""
    return optimizations.apply(url, optimization_id, actor, force=force)


# ----------------------------------------------------------------------------------------- helpers


def already_tuned(url: str, jobs: list[TuneJob], loads: dict) -> dict[TuneJob, int]:
    """Jobs whose newest COMPLETED row has the same settings and was tuned on exactly the loaded bars (their
    count is logged when there are any)."""
    digests = {}
    for symbol, load in loads.items():  # once per series, not per job
        try:
            digests[symbol] = registry.frame_digest(load.result())
        except Exception:  # noqa: BLE001, S112 - the load's failure is recorded on the job's row when it runs
            continue
    done = {}
    for job in jobs:
        digest = digests.get(job.symbol)
        if digest is None:  # its bars did not load
            continue
        for row in optimizations.list_optimizations(url, strategy=job.strategy, symbol=job.symbol,
                                                    timeframe=job.timeframe, method=job.method,
                                                    status=optimizations.COMPLETED, limit=1):
            performance = row.performance
            if (row.user_id == job.user_id and performance.get("request") == job.request()
                    and performance.get("data", {}).get("digest") == digest):
                done[job] = row.id
    if done:
        get_run_logger().info("%d of %d pairs are up to date (same settings, same bars): not tuned again",
                              len(done), len(jobs))
    return done


def ensure_samples(symbols: tuple[str, ...], timeframe: str = "1d") -> None:
    """Ingest each bundled series the store has no bar of."""
    from flows.ingest import ingest

    url = get_settings().db_url
    for symbol in symbols:
        if store.read_bars(url, symbol, timeframe, last=1).empty:
            ingest(source="sample", symbol=symbol)


def _defaults(strategy: str) -> dict:
    return get_strategy_class(strategy)().params() if strategy in STRATEGIES else {}
