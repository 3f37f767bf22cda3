"""Volatility predictor flows: train (walk-forward evaluate + fit) and register (champion/challenger).

The report is pure (:mod:`ml.volatility.summary`), the gates are :func:`registry.gates.volatility_gates`, and
the pipeline is the template of :mod:`flows.training`. ``python -m flows.volatility`` runs
:func:`volatility_pipeline` on the bundled daily datasets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import mlflow
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from flows.common import load_bars, load_series, png_files
from flows.training import data_digest, log_training_run, register_trained, training_pipeline
from ml.bundles import SymbolModels
from ml.datasets import DAILY_SAMPLES
from ml.volatility import summary
from ml.volatility.evaluation import WalkForwardConfig, WalkForwardResult, combine_results, evaluate_models
from ml.volatility.registry import make_model
from registry.gates import volatility_gates
from registry.promotion import Candidate, RegisterOutcome

__all__ = ["COVERAGE_BAND", "EXPERIMENT", "TrainOutcome", "data_digest", "register_volatility", "train_volatility",
           "volatility_pipeline"]

EXPERIMENT = "abtpro-volatility"
DEFAULT_CANDIDATES = summary.DEFAULT_CANDIDATES
COVERAGE_BAND = (0.85, 0.95)


@dataclass(frozen=True)
class TrainOutcome:
    """What ``train_volatility`` produced: the registrable candidate plus what the champion check needs."""

    candidate: Candidate
    model_name: str
    horizon: int
    data_digest: str


@task(cache_policy=NO_CACHE)
def walk_forward(bars: pd.DataFrame, candidates: list[str], config: WalkForwardConfig) -> WalkForwardResult:
    """Walk-forward evaluation of every candidate on one series (out-of-sample window only)."""
    return evaluate_models(bars, {name: make_model(name, config.horizon) for name in candidates}, config)


@task(cache_policy=NO_CACHE)
def fit_final(bars: pd.DataFrame, model_name: str, horizon: int):
    """Fit the chosen model on the whole history of one series."""
    return make_model(model_name, horizon).fit(bars)


@task(cache_policy=NO_CACHE)
def render_plots(symbol: str, forecasts: pd.DataFrame, chosen: str) -> dict[str, bytes]:
    """PNG plots of the chosen model's out-of-sample forecasts on one series (file name -> bytes); a task, so
    they render on the task runner alongside the final fits instead of serially in the flow."""
    from ml.volatility import plots

    return png_files({f"forecast_vs_realised_{symbol}": plots.forecast_vs_realised(
                          forecasts, title=f"{symbol}: {chosen} vs realised"),
                      f"interval_calibration_{symbol}": plots.interval_calibration(
                          forecasts, title=f"{symbol}: interval calibration")}, dpi=110)


def evaluate(bars: dict[str, pd.DataFrame], candidates: list[str], config: WalkForwardConfig) -> dict:
    """Walk-forward results per series: one task per (series, candidate), longest series first (fine-grained
    enough to keep every worker busy)."""
    futures = {(s, c): walk_forward.submit(bars[s], [c], config)
               for s in sorted(bars, key=lambda s: -len(bars[s])) for c in candidates}
    return {s: combine_results([futures[s, c].result() for c in candidates]) for s in bars}


def evaluation_files(table: pd.DataFrame, plots: list) -> dict[str, bytes | str]:
    """The run's ``evaluation/`` folder: the results table (CSV, markdown) and the plots."""
    pngs = {f"evaluation/{name}": png for f in plots for name, png in f.result().items()}
    return {"evaluation/walk_forward_results.csv": table.round(6).to_csv(),
            "evaluation/walk_forward_results.md": table.round(4).to_markdown(), **pngs}


@flow(name="train-volatility", log_prints=True)
def train_volatility(symbols: list[str] | None = None, timeframe: str = "1d", horizon: int = 5,
                     candidates: list[str] | None = None, refit_every: int = 21,
                     test_fraction: float = 0.4, model: str | None = None) -> TrainOutcome:
    """Walk-forward evaluate the candidates on every series, pick the best, fit it, log it to MLflow.

    Args:
        symbols: series to train on (default: the bundled daily datasets).
        timeframe: bar timeframe of those series.
        horizon: forecast horizon in bars (target = realised vol over the next ``horizon`` bars).
        candidates: model names of ``ml.volatility.registry.MODELS`` (default: EWMA, GARCH-t, HAR, default).
        refit_every: bars between refits in the walk-forward.
        test_fraction: out-of-sample share at the end of each series.
        model: train this model instead of the best candidate (it is evaluated alongside them).
    """
    symbols = list(symbols or DAILY_SAMPLES)
    key = summary.settings_key(horizon, candidates, model)
    candidates = list(dict.fromkeys([*(candidates or DEFAULT_CANDIDATES), *([model] if model else [])]))
    config = WalkForwardConfig(horizon=horizon, refit_every=refit_every, test_fraction=test_fraction)
    bars = load_series(get_settings().db_url, symbols, timeframe)
    get_run_logger().info("walk-forward of %s on %s (refit every %d bars, test = last %.0f%%)", candidates,
                          symbols, refit_every, test_fraction * 100)
    per_symbol = evaluate(bars, candidates, config)
    table = summary.with_ratios(summary.summary_table(per_symbol), candidates)
    chosen = summary.choose_model(table, COVERAGE_BAND, model)
    get_run_logger().info("chosen model: %s (mean out-of-sample QLIKE %.4f)", chosen,
                          table.xs(chosen, level="model")["qlike"].mean())
    fits = {s: fit_final.submit(b, chosen, horizon) for s, b in bars.items()}
    plots = [render_plots.submit(s, wf.forecasts[wf.forecasts["model"] == chosen], chosen)
             for s, wf in per_symbol.items()]
    fitted, digest, metrics = {s: f.result() for s, f in fits.items()}, data_digest(bars), summary.flat_metrics(
        table, chosen)
    bundle = SymbolModels(fitted, default_symbol=symbols[0], metadata={
        "model": chosen, "horizon": horizon, "timeframe": timeframe, "units": "per-bar realised volatility",
        "coverage": config.coverage, "data_ranges": summary.data_ranges(bars)})
    example = bars[symbols[0]].tail(300).reset_index().assign(symbol=symbols[0])
    run_id, model_uri = log_training_run(
        EXPERIMENT, f"volatility-{chosen}-h{horizon}", params={
            "model": chosen, "horizon": horizon, "timeframe": timeframe, "symbols": ",".join(symbols),
            "candidates": ",".join(candidates), "refit_every": refit_every, "test_fraction": test_fraction,
            **{f"model__{k}": v for k, v in fitted[symbols[0]].get_params().items()}},
        metrics=metrics, tags={"data_digest": digest, "data_ranges": json.dumps(bundle.metadata["data_ranges"]),
                               "task": "volatility"}, bars=bars, model=bundle,
        example=example[["symbol", "ts", "open", "high", "low", "close", "volume"]],
        files=lambda: evaluation_files(table, plots))
    create_markdown_artifact(key="volatility-walk-forward", markdown=(
        f"# Volatility walk-forward (h={horizon})\n\nChosen: **{chosen}**; MLflow run `{run_id}`\n\n"
        + table.round(4).to_markdown()), description="Out-of-sample results per model and series")
    tags = {"model": chosen, "horizon": str(horizon), "data_digest": digest, "settings": key}
    candidate = Candidate(model_uri, run_id, "qlike", metrics["qlike_mean"], metrics, tags, f"{chosen}, horizon {horizon}")
    return TrainOutcome(candidate, chosen, horizon, digest)


def champion_score(champion, outcome: TrainOutcome, symbols: list[str], timeframe: str) -> float | None:
    """The champion's mean QLIKE on the candidate's data and protocol (re-evaluated if the data changed)."""
    if champion is None:
        return None
    run = mlflow.get_run(champion.run_id)
    if run.data.tags.get("data_digest") == outcome.data_digest and "qlike_mean" in run.data.metrics:
        return float(run.data.metrics["qlike_mean"])
    params = run.data.params
    config = WalkForwardConfig(horizon=int(params.get("horizon", outcome.horizon)),
                               refit_every=int(params.get("refit_every", 21)),
                               test_fraction=float(params.get("test_fraction", 0.4)))
    url = get_settings().db_url
    scores = [walk_forward.fn(load_bars.fn(url, s, timeframe), [params["model"]], config).results["qlike"].iloc[0]
              for s in symbols]
    return float(pd.Series(scores).mean())


@flow(name="register-volatility", log_prints=True)
def register_volatility(outcome: TrainOutcome, symbols: list[str] | None = None, timeframe: str = "1d",
                        min_improvement: float = 0.02, max_qlike_ratio_garch: float = 1.0,
                        coverage_band: tuple[float, float] = COVERAGE_BAND) -> RegisterOutcome:
    """Register the trained model as ``challenger``; make it ``champion`` only if it wins.

    Args:
        outcome: the result of :func:`train_volatility`.
        symbols: the series it was trained on (to re-evaluate the champion on the same data if needed).
        timeframe: their timeframe.
        min_improvement: relative QLIKE improvement over the champion needed for automatic promotion.
        max_qlike_ratio_garch: gate: the candidate's worst QLIKE ratio to GARCH-t across series.
        coverage_band: gate: the mean interval coverage must fall inside it.
    """
    symbols = list(symbols or DAILY_SAMPLES)
    gates = volatility_gates(outcome.candidate.metrics, max_qlike_ratio_garch, coverage_band)
    return register_trained(registry.VOLATILITY_MODEL, outcome.candidate,
                            lambda champion: champion_score(champion, outcome, symbols, timeframe), gates,
                            lower_is_better=True, min_improvement=min_improvement)


@flow(name="volatility-pipeline", log_prints=True)
def volatility_pipeline(symbols: list[str] | None = None, timeframe: str = "1d", horizon: int = 5,
                        candidates: list[str] | None = None, refit_every: int = 21, test_fraction: float = 0.4,
                        min_improvement: float = 0.02, model: str | None = None, training_id: int | None = None,
                        actor: str = "pipeline", force: bool = True) -> RegisterOutcome:
    """Train, evaluate and register the volatility predictor, recording an ``MLModelTraining`` row.

    With ``force=False`` nothing is retrained when the champion was trained on exactly the current
    data with the same settings (re-running the quick start is then fast and registers no duplicate).
    """
    train = {"horizon": horizon, "candidates": candidates, "refit_every": refit_every,
             "test_fraction": test_fraction, "model": model}
    return training_pipeline(
        "VOLATILITY", registry.VOLATILITY_MODEL, symbols=list(symbols or DAILY_SAMPLES), timeframe=timeframe,
        params={**train, "min_improvement": min_improvement},
        settings_key=lambda: summary.settings_key(horizon, candidates, model), train=train_volatility,
        train_args=train, register=register_volatility, register_args={"min_improvement": min_improvement},
        force=force, training_id=training_id, actor=actor)


if __name__ == "__main__":
    print(volatility_pipeline())
