"""The end-to-end pipeline of ``abtpro run`` as one Prefect flow, ``abtpro-pipeline``.

It migrates the app database, then runs the existing flows as its subflows (so the Prefect UI shows one run
with ``ingest``, ``validate``, ``volatility-pipeline``, ``signal-quality-pipeline`` and ``tuning-pipeline``
underneath): ingest the bundled real data, validate it, train/evaluate/register both models and tune every
strategy. Nothing is retrained or re-tuned when data and settings did not change. ``python -m flows.pipeline``
runs it on its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from abtpro.settings import get_settings
from flows.common import shared_dask_cluster
from flows.ingest import SymbolIngest, ingest
from flows.registration import RegisterOutcome
from flows.signal_quality import signal_quality_pipeline
from flows.tune import tuning_pipeline
from flows.validate import validate
from flows.volatility import volatility_pipeline
from store import migrate

#: The pipeline's steps, in order: the names the ``progress`` callback receives.
MIGRATE, INGEST, VALIDATE = "migrate database", "ingest bundled real data", "validate stored bars"
VOLATILITY = "train, evaluate, register volatility model"
SIGNAL_QUALITY = "train, evaluate, register signal-quality scorer"
TUNE = "tune strategy parameters"
STEPS = (MIGRATE, INGEST, VALIDATE, VOLATILITY, SIGNAL_QUALITY, TUNE)
# the quick start tunes every strategy on every bundled daily series with the UCB1 bandit over the parameter grid
TUNE_METHOD, TUNE_BUDGET, TUNE_WINDOWS = "rl_bandit", 24, 3


@dataclass(frozen=True)
class PipelineResult:
    """What each step returned: ingestion summaries, validation results, both registrations, optimization ids."""

    ingested: list[SymbolIngest]
    validation: list[dict]
    volatility: RegisterOutcome
    signal_quality: RegisterOutcome
    optimizations: list[int]


@task(cache_policy=NO_CACHE)
def migrate_database(url: str) -> str | None:
    """Migrate the app database to the newest revision; returns that revision."""
    migrate.upgrade(url)
    return migrate.current(url)


@flow(name="abtpro-pipeline", log_prints=True)
def pipeline(symbols: list[str] | None = None, tune_budget: int = TUNE_BUDGET, tune_windows: int = TUNE_WINDOWS,
             progress: Callable[[str], None] | None = None) -> PipelineResult:
    """Migrate, ingest, validate, train and register both models, tune every strategy.

    Args:
        symbols: bundled datasets to ingest and the daily series to train and tune on (default: all of them).
        tune_budget: evaluations per tuning window of the strategy tuner.
        tune_windows: walk-forward windows of the strategy tuner.
        progress: called in-process with each step's name (one of :data:`STEPS`) as it starts (the CLI's bar).

    Returns:
        Every step's result. With ``ABTPRO_TASK_RUNNER=dask`` and no scheduler address, one local Dask cluster
        serves every fan-out subflow of the run.
    """
    settings = get_settings()
    step = progress or (lambda name: None)
    with shared_dask_cluster(settings):
        step(MIGRATE)
        migrate_database(settings.db_url)
        step(INGEST)
        ingested = [s for sample in (symbols or [None]) for s in ingest(source="sample", symbol=sample,
                                                                           holdback_days=settings.replay_holdback_days)]
        step(VALIDATE)
        validation = validate()
        step(VOLATILITY)
        volatility = volatility_pipeline(symbols=symbols, force=False)
        step(SIGNAL_QUALITY)
        signal_quality = signal_quality_pipeline(symbols=symbols, force=False)
        step(TUNE)
        optimizations = tuning_pipeline(symbols=symbols, method=TUNE_METHOD, budget=tune_budget,
                                        n_windows=tune_windows, force=False)
    return PipelineResult(ingested, validation, volatility, signal_quality, optimizations)


if __name__ == "__main__":
    result = pipeline()
    print(f"volatility: v{result.volatility.version} ({result.volatility.reason}); signal quality: "
          f"v{result.signal_quality.version} ({result.signal_quality.reason}); "
          f"{len(result.optimizations)} optimizations")
