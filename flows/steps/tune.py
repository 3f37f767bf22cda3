"""The steps of the tuning flows (:mod:`flows.tune`): the job and its outcome, the job-row tasks, walk-forward
tuning and the out-of-sample replay, and the recording of a result (MLflow run, Prefect artifact, row)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from flows.common import (
    IO_RETRIES,
    IO_RETRY_DELAY_SECONDS,
    png_files,
    retry_unless_permanent,
)
from ml import tuning_summary
from ml.backtest import BacktestConfig
from ml.strategies import STRATEGIES, get_strategy_class
from ml.tuner import METHODS
from ml.tuner import report as tuning_report
from ml.tuner.tuning import WalkForwardReport, walk_forward_tune
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


def _files(job: TuneJob, report: WalkForwardReport, replay: tuning_report.OOSBacktests,
           summary: dict) -> dict[str, bytes | str]:
    """The run's ``tuning/`` folder: equity and convergence plots, the windows, the OOS metrics and the summary."""
    title = f"{job.symbol} {job.strategy} ({method_key(job.method)})"
    pngs = png_files({"oos_equity": tuning_report.equity_figure(replay.equity, f"{title}: out-of-sample equity"),
                      "convergence": tuning_report.convergence_figure(list(report.windows["rewards"]),
                                                                      f"{title}: convergence")}, dpi=110)
    return {**{f"tuning/{name}": png for name, png in pngs.items()},
            "tuning/windows.csv": report.windows.to_csv(index=False),
            "tuning/oos_metrics.csv": replay.metrics.to_csv(index=False),
            "tuning/oos_equity.csv": replay.equity.to_csv(),
            "tuning/summary.json": json.dumps(optimizations.jsonable(summary), indent=2)}


def _log_run(job: TuneJob, optimization_id: int, bars: pd.DataFrame, digest: str, report: WalkForwardReport,
             replay: tuning_report.OOSBacktests, summary: dict) -> str:
    """One MLflow run: parameters, metrics (per window as steps), lineage, plots and tables."""
    run_id, _ = registry.log_run(
        get_settings(), EXPERIMENT, f"{job.strategy}-{job.symbol}-{job.timeframe}-{method_key(job.method)}",
        params={"strategy": job.strategy, "symbol": job.symbol, "timeframe": job.timeframe,
                "method": method_key(job.method), "optimization_id": optimization_id, **job.request(),
                **{f"default__{k}": v for k, v in report.default_params.items()},
                **{f"tuned__{k}": v for k, v in report.best_params.items()}},
        metrics=tuning_summary.run_metrics(summary), steps=tuning_summary.window_metrics(summary),
        tags={"task": "tuning", "optimization_id": str(optimization_id), "recommended": str(summary["recommended"]),
              "data_digest": digest}, bars={job.symbol: bars}, files=lambda: _files(job, report, replay, summary))
    return run_id


def _record(url: str, job: TuneJob, optimization_id: int, bars: pd.DataFrame, report: WalkForwardReport,
            replay: tuning_report.OOSBacktests) -> TuneOutcome:
    """Log the run to MLflow, publish the Prefect artifact, then complete the row (nothing can fail after it)."""
    summary = tuning_report.summarise(report, replay)
    digest = registry.frame_digest(bars)
    run_id = _log_run(job, optimization_id, bars, digest, report, replay, summary)
    performance = {**summary, "mlflow_run_id": run_id,
                   "data": {"start": bars.index[0], "end": bars.index[-1], "n_bars": len(bars), "digest": digest}}
    create_markdown_artifact(key=re.sub(r"[^a-z0-9-]+", "-", f"tune-{job.strategy}-{job.symbol}".lower()),
                             markdown=tuning_summary.markdown(
                                 f"{job.strategy} on {job.symbol}/{job.timeframe} ({method_key(job.method)})",
                                 optimization_id, summary, run_id),
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
