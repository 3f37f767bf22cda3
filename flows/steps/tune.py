"""The work of one tuning pair (:mod:`flows.tune`): walk-forward tuning, the out-of-sample replay, and the
recording of a result (MLflow run, Prefect artifact, row).

Contents, top-down:
- :func:`tune_pair` — one (strategy, series) pair end to end on one worker.
- its steps: :func:`walk_forward`, :func:`replay_oos`, :func:`record` (with the MLflow run and its files).
- failures: :func:`record_failure` (one job), :func:`collect_outcomes` (a fan-out, in pipeline order).

The job, its outcome and the job-row tasks are :mod:`flows.steps.tune_jobs`.
"""

from __future__ import annotations

import json
import re
import time

import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from flows.common import png_files
from flows.steps.tune_jobs import (
    COMMISSION,
    EXPERIMENT,
    TRAIN_MULTIPLE,
    TuneJob,
    TuneOutcome,
    complete_job,
    fail_job,
    method_key,
)
from ml import tuning_summary
from ml.backtest import BacktestConfig
from ml.tuner import report as tuning_report
from ml.tuner.tuning import Evidence, WalkForwardReport, walk_forward_tune
from store import optimizations


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
    outcome = record(url, job, optimization_id, bars, report, replay)
    logger.info("%s on %s: tuned and replayed in %.1f s, recorded in %.1f s", job.strategy, job.symbol,
                tuned - tic, time.perf_counter() - tuned)
    return outcome


@task(cache_policy=NO_CACHE)
def walk_forward(bars: pd.DataFrame, job: TuneJob) -> WalkForwardReport:
    """Walk-forward tuning of one strategy on one series (tune in sample, judge out of sample)."""
    return walk_forward_tune(bars, job.strategy, method=method_key(job.method), budget=job.budget,
                             n_windows=job.n_windows, seed=job.seed, config=_config(),
                             train_multiple=TRAIN_MULTIPLE, evidence=Evidence(job.max_pbo, job.min_dsr))


@task(cache_policy=NO_CACHE)
def replay_oos(bars: pd.DataFrame, job: TuneJob, report: WalkForwardReport) -> tuning_report.OOSBacktests:
    """Default vs tuned backtests on every out-of-sample window (metrics and chained equity)."""
    return tuning_report.oos_backtests(bars, job.strategy, report, _config())


def record(url: str, job: TuneJob, optimization_id: int, bars: pd.DataFrame, report: WalkForwardReport,
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


def record_failure(url: str, job: TuneJob, optimization_id: int, err: BaseException) -> TuneOutcome:
    """Mark the job's row FAILED with ``err``; the FAILED outcome."""
    error = f"{type(err).__name__}: {err}"
    fail_job(url, optimization_id, error)
    return TuneOutcome(optimization_id, job.strategy, job.symbol, job.timeframe, job.method.upper(),
                       optimizations.FAILED, error=error)


def collect_outcomes(url: str, jobs: list[TuneJob], ids: list[int], bars: list, pairs: list) -> list[TuneOutcome]:
    """The outcome of each fanned-out job (a failed one's row marked FAILED), and a log of the tally."""
    logger = get_run_logger()
    outcomes = []
    for job, optimization_id, *steps in zip(jobs, ids, bars, pairs):
        try:  # in pipeline order, so a failed bar load's own error is the one recorded
            method_key(job.method)
            outcomes.append([step.result() for step in steps][-1])
        except Exception as err:  # noqa: BLE001 - any failure of one pair is recorded on its row
            outcomes.append(record_failure(url, job, optimization_id, err))
    failed = [o for o in outcomes if o.status == optimizations.FAILED]
    logger.info("tuned %d pairs: %d recommended, %d failed", len(outcomes),
                sum(o.recommended for o in outcomes), len(failed))
    for o in failed:
        logger.warning("optimization %d (%s on %s) failed: %s", o.optimization_id, o.strategy, o.symbol, o.error)
    return outcomes


# ------------------------------------------------------------------------------------------ helpers


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


def _config() -> BacktestConfig:
    return BacktestConfig(commission=COMMISSION)
