"""Strategy-tuning flows: walk-forward tune one strategy on one series, fan out, apply a result.

- ``tune-strategy`` (:func:`tune_strategy`): load bars -> :func:`ml.tuner.tuning.walk_forward_tune`
  -> replay the out-of-sample windows -> one ``StrategyOptimization`` row (RUNNING -> COMPLETED |
  FAILED), one MLflow run in experiment ``abtpro-tuning`` (params, metrics, equity/convergence
  plots) and a Prefect markdown artifact.
- ``tune-many`` (:func:`tune_many`): the same for every (symbol, strategy) pair, fanned out by Prefect task
  mapping: the job rows, the bar loads, then one ``tune_pair`` task per pair (tuning, replay and recording:
  MLflow run, plots, row).
- ``tuning-pipeline`` (:func:`tuning_pipeline`): ``tune-many`` on the configured task runner (threads, or
  Dask with ``ABTPRO_TASK_RUNNER=dask``), as ``volatility-pipeline`` and ``signal-quality-pipeline`` run
  their training flows; the weekly deployment and ``abtpro run`` start this one.
- ``apply-params`` (:func:`apply_params`): make a COMPLETED, recommended result the active
  parameters of its (strategy, symbol, timeframe) (audit-logged; ``force`` for a non-recommended one).

``python -m flows.tune`` tunes the default strategies on the bundled daily datasets (ingesting
them first if the store lacks them) with a small budget.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, unmapped

import registry
from abtpro.settings import get_settings
from flows.common import load_bars, task_runner
from flows.steps.tune import collect_outcomes, record, record_failure, replay_oos, tune_pair, walk_forward
from flows.steps.tune_jobs import (
    DEFAULT_STRATEGIES,
    EXPERIMENT,
    ApplyOutcome,
    TuneJob,
    TuneOutcome,
    already_tuned,
    apply_result,
    ensure_samples,
    method_key,
    start_job,
)
from ml.datasets import DAILY_SAMPLES
from ml.strategies import get_strategy_class
from ml.tuner import OPTUNA
from store import optimizations

__all__ = ["EXPERIMENT", "ApplyOutcome", "TuneJob", "TuneOutcome", "apply_params", "method_key", "tune_many",
           "tune_strategy", "tuning_pipeline"]


@flow(name="tune-strategy", log_prints=True)
def tune_strategy(strategy: str, symbol: str, timeframe: str = "1d", method: str = OPTUNA, budget: int = 60,
                  n_windows: int = 4, seed: int = 0, optimization_id: int | None = None,
                  user_id: int | None = None, max_pbo: float = 0.5, min_dsr: float = 0.5) -> TuneOutcome:
    """Walk-forward tune ``strategy`` on ``symbol`` and record the result.

    Args:
        strategy: A key of :data:`ml.strategies.STRATEGIES`.
        symbol: Stored series to tune on.
        timeframe: Its timeframe.
        method: A key of :data:`ml.tuner.METHODS` (case-insensitive; default Optuna TPE).
        budget: Distinct backtests per walk-forward window.
        n_windows: Walk-forward windows (train = 2 x test, test right after train).
        seed: Seed (window ``i`` uses ``seed + i``).
        optimization_id: The ``StrategyOptimization`` row the API pre-created (PENDING); created if None.
        user_id: Owner of a newly created row.
        max_pbo, min_dsr: The evidence a recommendation needs besides a better, safe out-of-sample Sharpe
            (:class:`ml.tuner.tuning.Evidence`: PBO below, DSR above these).

    Returns:
        The outcome; the row is COMPLETED. On failure the row is marked FAILED and the error re-raised.
    """
    url = get_settings().db_url
    logger = get_run_logger()
    job = TuneJob(strategy, symbol, timeframe, method, budget, n_windows, seed, user_id, optimization_id,
                  max_pbo, min_dsr)
    optimization_id = start_job(url, job)
    logger.info("optimization %d: tuning %s on %s/%s with %s (budget %d x %d windows)", optimization_id,
                strategy, symbol, timeframe, method, budget, n_windows)
    try:
        method_key(method)
        get_strategy_class(strategy)
        bars = load_bars(url, symbol, timeframe)
        report = walk_forward(bars, job)
        replay = replay_oos(bars, job, report)
        outcome = record(url, job, optimization_id, bars, report, replay)
    except Exception as err:
        record_failure(url, job, optimization_id, err)
        raise
    logger.info("optimization %d: recommended=%s, OOS Sharpe change %+.3f, DSR %.2f, PBO %.2f", optimization_id,
                outcome.recommended, outcome.oos_improvement, outcome.deflated_sharpe, outcome.pbo)
    return outcome


@flow(name="tune-many", log_prints=True)
def tune_many(symbols: list[str] | None = None, strategies: list[str] | None = None, timeframe: str = "1d",
              method: str = OPTUNA, budget: int = 30, n_windows: int = 4, seed: int = 0,
              user_id: int | None = None, force: bool = True) -> list[int]:
    """Tune every strategy on every series: one ``StrategyOptimization`` row per (symbol, strategy).

    Job rows, bar loads and one :func:`tune_pair` task per pair (walk-forward tuning, out-of-sample replay,
    recording: MLflow run with plots, Prefect artifact, row) are fanned out with Prefect task mapping. A
    failing pair marks its row FAILED and does not stop the others.

    Args:
        symbols: Stored series (default: the bundled daily datasets).
        strategies: Strategy names (default: all of :data:`ml.strategies.STRATEGIES`).
        timeframe, method, budget, n_windows, seed, user_id: As in :func:`tune_strategy`.
        force: With False, a pair already tuned (COMPLETED) with the same settings on exactly the current
            bars is not tuned again; its existing row is returned (re-running the quick start is then fast).

    Returns:
        The rows' ids, in (symbol, strategy) order.
    """
    url = get_settings().db_url
    symbols = list(symbols or DAILY_SAMPLES)
    every_job = [TuneJob(strategy, symbol, timeframe, method, budget, n_windows, seed, user_id)
                 for symbol in symbols for strategy in (strategies or DEFAULT_STRATEGIES)]
    loads = dict(zip(symbols, load_bars.map(unmapped(url), symbols, unmapped(timeframe))))
    done = {} if force else already_tuned(url, every_job, loads)
    jobs = [job for job in every_job if job not in done]
    if not jobs:
        return [done[job] for job in every_job]
    registry.ensure_experiment(get_settings(), EXPERIMENT)  # once, before the parallel records
    started = start_job.map(unmapped(url), jobs)
    bars = [loads[job.symbol] for job in jobs]
    pairs = tune_pair.map(unmapped(url), jobs, started, bars)  # each pair starts as soon as its row is RUNNING
    ids = [f.result() for f in started]
    collect_outcomes(url, jobs, ids, bars, pairs)
    new = dict(zip(jobs, ids))
    return [done[job] if job in done else new[job] for job in every_job]


@flow(name="tuning-pipeline", log_prints=True)
def tuning_pipeline(symbols: list[str] | None = None, strategies: list[str] | None = None, timeframe: str = "1d",
                    method: str = OPTUNA, budget: int = 30, n_windows: int = 4, seed: int = 0,
                    user_id: int | None = None, force: bool = True) -> list[int]:
    """:func:`tune_many` with its fan-out on the configured task runner (``ABTPRO_TASK_RUNNER``: Prefect's
    thread pool, or Dask on ``ABTPRO_DASK_ADDRESS`` / a local cluster). Arguments and result as there."""
    runner = task_runner(get_settings())
    return tune_many.with_options(task_runner=runner)(symbols, strategies, timeframe, method, budget, n_windows,
                                                        seed, user_id, force)


@flow(name="apply-params", log_prints=True)
def apply_params(optimization_id: int, actor: str = "pipeline", force: bool = False) -> ApplyOutcome:
    """Make optimization ``optimization_id`` the active parameters of its (strategy, symbol, timeframe).

    Refuses (``store.optimizations.ApplyRefused``) a result that is not COMPLETED, or not
    recommended unless ``force``; the change is audit-logged as ``actor``.
    """
    row = apply_result(get_settings().db_url, optimization_id, actor, force)
    return ApplyOutcome(row.id, row.strategy, row.symbol, row.timeframe, row.optimized_params, actor,
                        bool(row.performance.get("forced", False)))


if __name__ == "__main__":
    from abtpro.settings import apply_offline_env
    from store import migrate

    apply_offline_env()

    migrate.upgrade(get_settings().db_url, "head")  # idempotent; `abtpro db upgrade` does the same
    ensure_samples(DAILY_SAMPLES)
    for oid in tuning_pipeline(symbols=list(DAILY_SAMPLES), budget=20, n_windows=3):
        row = optimizations.get(get_settings().db_url, oid)
        print(f"{oid:4d} {row.symbol:7s} {row.strategy:20s} {row.status:9s} recommended={row.recommended!s:5s} "
              f"OOS Sharpe change {row.performance.get('oos_improvement', float('nan')):+.3f} {row.optimized_params}")
