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

import json
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from flows.common import IO_RETRIES, IO_RETRY_DELAY_SECONDS, load_bars, retry_unless_permanent, task_runner
from ml.backtest import BacktestConfig
from ml.datasets import DAILY_SAMPLES
from ml.strategies import STRATEGIES, get_strategy_class
from ml.tuner import METHODS, OPTUNA
from ml.tuner import report as tuning_report
from ml.tuner.tuning import WalkForwardReport, walk_forward_tune
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

    def request(self) -> dict:
        """The settings stored with the row (``performance["request"]``)."""
        return {"budget": self.budget, "n_windows": self.n_windows, "seed": self.seed,
                "train_multiple": TRAIN_MULTIPLE, "commission": COMMISSION}


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


def _up_to_date(url: str, jobs: list[TuneJob], loads: dict) -> dict[TuneJob, int]:
    """Jobs whose newest COMPLETED row has the same settings and was tuned on exactly the loaded bars."""
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
    return done


def _defaults(strategy: str) -> dict:
    return get_strategy_class(strategy)().params() if strategy in STRATEGIES else {}


def _config() -> BacktestConfig:
    return BacktestConfig(commission=COMMISSION)


# ------------------------------------------------------------------------------------------- tasks


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, retry_condition_fn=retry_unless_permanent,
      cache_policy=NO_CACHE)
def start_job(url: str, job: TuneJob) -> int:
    """Mark the job's row RUNNING (creating it unless the API pre-created it); returns its id."""
    return optimizations.start(url, job.strategy, job.symbol, job.timeframe, job.method.upper(),
                               optimization_id=job.optimization_id, user_id=job.user_id,
                               original_params=_defaults(job.strategy), request=job.request())


@task(cache_policy=NO_CACHE)
def walk_forward(bars: pd.DataFrame, job: TuneJob) -> WalkForwardReport:
    """Walk-forward tuning of one strategy on one series (tune in sample, judge out of sample)."""
    return walk_forward_tune(bars, job.strategy, method=method_key(job.method), budget=job.budget,
                             n_windows=job.n_windows, seed=job.seed, config=_config(),
                             train_multiple=TRAIN_MULTIPLE)


@task(cache_policy=NO_CACHE)
def replay_oos(bars: pd.DataFrame, job: TuneJob, report: WalkForwardReport) -> tuning_report.OOSBacktests:
    """Default vs tuned backtests on every out-of-sample window (metrics and chained equity)."""
    return tuning_report.oos_backtests(bars, job.strategy, report, _config())


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


# ------------------------------------------------------------------------------------------ record


def _log_run(job: TuneJob, optimization_id: int, bars: pd.DataFrame, digest: str, report: WalkForwardReport,
             replay: tuning_report.OOSBacktests, summary: dict) -> str:
    """One MLflow run: parameters, metrics (per window as steps), lineage, plots and tables."""
    settings = get_settings()
    registry.ensure_experiment(settings, EXPERIMENT)
    name = f"{job.strategy}-{job.symbol}-{job.timeframe}-{method_key(job.method)}"
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_params({"strategy": job.strategy, "symbol": job.symbol, "timeframe": job.timeframe,
                           "method": method_key(job.method), "optimization_id": optimization_id,
                           **job.request(), **{f"default__{k}": v for k, v in report.default_params.items()},
                           **{f"tuned__{k}": v for k, v in report.best_params.items()}})
        metrics = {"oos_improvement": summary["oos_improvement"], "deflated_sharpe": summary["deflated_sharpe"],
                   "pbo": summary["pbo"], "recommended": float(summary["recommended"]),
                   **{f"{side}_{k}": v for side, key in (("default", "before"), ("tuned", "after"))
                      for k, v in summary[key].items()}}
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if pd.notna(v)})
        for w in summary["windows"]:
            step = {"window_dsr": w["dsr"], "window_pbo": w["pbo"], "window_best_reward": w["best_reward"],
                    **{f"window_{side}_oos_sharpe": w["out_of_sample"][side]["sharpe"] for side in ("default", "tuned")},
                    **{f"window_{side}_is_sharpe": w["in_sample"][side]["sharpe"] for side in ("default", "tuned")}}
            mlflow.log_metrics({k: float(v) for k, v in step.items() if pd.notna(v)}, step=w["window"])
        mlflow.set_tags({"task": "tuning", "optimization_id": str(optimization_id),
                         "recommended": str(summary["recommended"]), "code_version": registry.code_version(),
                         "data_digest": digest})
        registry.log_training_data({job.symbol: bars})
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            title = f"{job.symbol} {job.strategy} ({method_key(job.method)})"
            tuning_report.equity_figure(replay.equity, f"{title}: out-of-sample equity").savefig(
                root / "oos_equity.png", dpi=110)
            tuning_report.convergence_figure(list(report.windows["rewards"]), f"{title}: convergence").savefig(
                root / "convergence.png", dpi=110)
            report.windows.to_csv(root / "windows.csv", index=False)
            replay.metrics.to_csv(root / "oos_metrics.csv", index=False)
            replay.equity.to_csv(root / "oos_equity.csv")
            (root / "summary.json").write_text(json.dumps(optimizations.jsonable(summary), indent=2))
            mlflow.log_artifacts(str(root), artifact_path="tuning")
    return run.info.run_id


def _markdown(job: TuneJob, optimization_id: int, summary: dict, run_id: str) -> str:
    table = pd.DataFrame([{
        "window": w["window"], "test": f"{str(w['test_start'])[:10]} .. {str(w['test_end'])[:10]}",
        "tuned params": json.dumps(w["tuned_params"]),
        "IS SR default": w["in_sample"]["default"]["sharpe"], "IS SR tuned": w["in_sample"]["tuned"]["sharpe"],
        "OOS SR default": w["out_of_sample"]["default"]["sharpe"], "OOS SR tuned": w["out_of_sample"]["tuned"]["sharpe"],
        "OOS maxDD tuned": w["out_of_sample"]["tuned"]["max_drawdown"], "DSR": w["dsr"], "PBO": w["pbo"],
    } for w in summary["windows"]]).round(3)
    verdict = "**recommended**" if summary["recommended"] else "**not recommended** (defaults stay)"
    return (f"# Tuning {job.strategy} on {job.symbol}/{job.timeframe} ({method_key(job.method)})\n\n"
            f"Optimization `{optimization_id}`, MLflow run `{run_id}`: {verdict}; mean OOS Sharpe change "
            f"{summary['oos_improvement']:+.3f}, deflated Sharpe {summary['deflated_sharpe']:.2f}, "
            f"PBO {summary['pbo']:.2f}.\n\n" + table.to_markdown(index=False))


def _record(url: str, job: TuneJob, optimization_id: int, bars: pd.DataFrame, report: WalkForwardReport,
            replay: tuning_report.OOSBacktests) -> TuneOutcome:
    """Log the run to MLflow, publish the Prefect artifact, then complete the row (nothing can fail after it)."""
    summary = tuning_report.summarise(report, replay)
    digest = registry.frame_digest(bars)
    run_id = _log_run(job, optimization_id, bars, digest, report, replay, summary)
    performance = {**summary, "mlflow_run_id": run_id,
                   "data": {"start": bars.index[0], "end": bars.index[-1], "n_bars": len(bars), "digest": digest}}
    create_markdown_artifact(key=re.sub(r"[^a-z0-9-]+", "-", f"tune-{job.strategy}-{job.symbol}".lower()),
                             markdown=_markdown(job, optimization_id, summary, run_id),
                             description=f"Walk-forward tuning result of optimization {optimization_id}")
    row = complete_job(url, optimization_id, report.best_params, performance, report.default_params)  # last step
    return TuneOutcome(optimization_id, job.strategy, job.symbol, job.timeframe, row.method, row.status,
                       row.recommended, row.original_params, row.optimized_params, summary["oos_improvement"],
                       summary["deflated_sharpe"], summary["pbo"], run_id)


@task(cache_policy=NO_CACHE, task_run_name="tune-pair-{job.strategy}-{job.symbol}")
def tune_pair(url: str, job: TuneJob, optimization_id: int, bars: pd.DataFrame) -> TuneOutcome:
    """One (strategy, series) pair of the fan-out end to end on one worker: walk-forward tuning, the
    out-of-sample replay and the recording (MLflow run with plots, Prefect artifact, row); each step's
    duration is logged. One task per pair keeps the orchestration per pair small next to its work."""
    logger = get_run_logger()
    tic = time.perf_counter()
    report = walk_forward.fn(bars, job)
    replay = replay_oos.fn(bars, job, report)
    tuned = time.perf_counter()
    outcome = _record(url, job, optimization_id, bars, report, replay)
    logger.info("%s on %s: tuned and replayed in %.1f s, recorded in %.1f s", job.strategy, job.symbol,
                tuned - tic, time.perf_counter() - tuned)
    return outcome


def _failed(url: str, job: TuneJob, optimization_id: int, err: BaseException) -> TuneOutcome:
    error = f"{type(err).__name__}: {err}"
    fail_job(url, optimization_id, error)
    return TuneOutcome(optimization_id, job.strategy, job.symbol, job.timeframe, job.method.upper(),
                       optimizations.FAILED, error=error)


# ------------------------------------------------------------------------------------------- flows


@flow(name="tune-strategy", log_prints=True)
def tune_strategy(strategy: str, symbol: str, timeframe: str = "1d", method: str = OPTUNA, budget: int = 60,
                  n_windows: int = 4, seed: int = 0, optimization_id: int | None = None,
                  user_id: int | None = None) -> TuneOutcome:
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

    Returns:
        The outcome; the row is COMPLETED. On failure the row is marked FAILED and the error re-raised.
    """
    url = get_settings().db_url
    logger = get_run_logger()
    job = TuneJob(strategy, symbol, timeframe, method, budget, n_windows, seed, user_id, optimization_id)
    optimization_id = start_job(url, job)
    logger.info("optimization %d: tuning %s on %s/%s with %s (budget %d x %d windows)", optimization_id,
                strategy, symbol, timeframe, method, budget, n_windows)
    try:
        method_key(method)
        get_strategy_class(strategy)
        bars = load_bars(url, symbol, timeframe)
        report = walk_forward(bars, job)
        replay = replay_oos(bars, job, report)
        outcome = _record(url, job, optimization_id, bars, report, replay)
    except Exception as err:
        _failed(url, job, optimization_id, err)
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
    logger = get_run_logger()
    symbols = list(symbols or DAILY_SAMPLES)
    every_job = [TuneJob(strategy, symbol, timeframe, method, budget, n_windows, seed, user_id)
                 for symbol in symbols for strategy in (strategies or DEFAULT_STRATEGIES)]
    loads = dict(zip(symbols, load_bars.map(unmapped(url), symbols, unmapped(timeframe))))
    done = {} if force else _up_to_date(url, every_job, loads)
    jobs = [job for job in every_job if job not in done]
    if done:
        logger.info("%d of %d pairs are up to date (same settings, same bars): not tuned again", len(done),
                    len(every_job))
    if not jobs:
        return [done[job] for job in every_job]
    registry.ensure_experiment(get_settings(), EXPERIMENT)  # once, before the parallel records
    started = start_job.map(unmapped(url), jobs)
    bars = [loads[job.symbol] for job in jobs]
    pairs = tune_pair.map(unmapped(url), jobs, started, bars)  # each pair starts as soon as its row is RUNNING
    ids = [f.result() for f in started]
    outcomes = []
    for job, optimization_id, *steps in zip(jobs, ids, bars, pairs):
        try:  # in pipeline order, so a failed bar load's own error is the one recorded
            method_key(job.method)
            outcomes.append([step.result() for step in steps][-1])
        except Exception as err:  # noqa: BLE001 - any failure of one pair is recorded on its row
            outcomes.append(_failed(url, job, optimization_id, err))
    failed = [o for o in outcomes if o.status == optimizations.FAILED]
    logger.info("tuned %d pairs: %d recommended, %d failed", len(outcomes),
                sum(o.recommended for o in outcomes), len(failed))
    for o in failed:
        logger.warning("optimization %d (%s on %s) failed: %s", o.optimization_id, o.strategy, o.symbol, o.error)
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


def _ensure_samples(symbols: tuple[str, ...], timeframe: str = "1d") -> None:
    from flows.ingest import ingest

    url = get_settings().db_url
    for symbol in symbols:
        if store.read_bars(url, symbol, timeframe, last=1).empty:
            ingest(source="sample", symbol=symbol)


if __name__ == "__main__":
    from abtpro.settings import apply_offline_env
    from store import migrate

    apply_offline_env()

    migrate.upgrade(get_settings().db_url, "head")  # idempotent; `abtpro db upgrade` does the same
    _ensure_samples(DAILY_SAMPLES)
    for oid in tuning_pipeline(symbols=list(DAILY_SAMPLES), budget=20, n_windows=3):
        row = optimizations.get(get_settings().db_url, oid)
        print(f"{oid:4d} {row.symbol:7s} {row.strategy:20s} {row.status:9s} recommended={row.recommended!s:5s} "
              f"OOS Sharpe change {row.performance.get('oos_improvement', float('nan')):+.3f} {row.optimized_params}")
