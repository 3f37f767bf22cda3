"""The steps of the volatility flows (:mod:`flows.volatility`).

Contents, top-down:
- :class:`TrainOutcome` — what ``train-volatility`` hands to ``register-volatility``.
- evaluation: :func:`evaluate` (one :func:`walk_forward` task per series and candidate).
- the final model: :func:`fit_final`, :func:`render_plots`.
- :func:`record_training` — the MLflow run, the Prefect artifact and the registrable candidate.
- :func:`champion_score` — the champion's QLIKE on the candidate's data and protocol.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import mlflow
import pandas as pd
from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from abtpro.settings import get_settings
from flows.common import load_bars, png_files
from flows.training import data_digest, log_training_run
from ml.bundles import SymbolModels
from ml.volatility import summary
from ml.volatility.evaluation import WalkForwardConfig, WalkForwardResult, combine_results, evaluate_models
from ml.volatility.registry import make_model
from registry.promotion import Candidate


@dataclass(frozen=True)
class TrainOutcome:
    """What ``train_volatility`` produced: the registrable candidate plus what the champion check needs."""

    candidate: Candidate
    model_name: str
    horizon: int
    data_digest: str
    #: mean out-of-sample QLIKE of every model the walk-forward evaluated (on this data, with ``protocol``)
    evaluated: dict[str, float] = field(default_factory=dict)
    #: that walk-forward's (horizon, refit_every, test_fraction, sorted symbols)
    protocol: tuple | None = None


def evaluate(bars: dict[str, pd.DataFrame], candidates: list[str], config: WalkForwardConfig) -> dict:
    """Walk-forward results per series: one task per (series, candidate), longest series first (fine-grained
    enough to keep every worker busy)."""
    futures = {(s, c): walk_forward.submit(bars[s], [c], config)
               for s in sorted(bars, key=lambda s: -len(bars[s])) for c in candidates}
    return {s: combine_results([futures[s, c].result() for c in candidates]) for s in bars}


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


def record_training(experiment: str, bars: dict[str, pd.DataFrame], symbols: list[str], timeframe: str, *,
                    chosen: str, config: WalkForwardConfig, table: pd.DataFrame, fits: dict, plots: list,
                    params: dict[str, Any], settings_key: str) -> TrainOutcome:
    """Bundle the fitted models, log the training run (``params`` plus the model's own, metrics, lineage, the
    bundle, the ``evaluation/`` files), publish the Prefect artifact; the candidate to register."""
    horizon = config.horizon
    fitted, digest, metrics = {s: f.result() for s, f in fits.items()}, data_digest(bars), summary.flat_metrics(
        table, chosen)
    bundle = SymbolModels(fitted, default_symbol=symbols[0], metadata={
        "model": chosen, "horizon": horizon, "timeframe": timeframe, "units": "per-bar realised volatility",
        "coverage": config.coverage, "data_ranges": summary.data_ranges(bars)})
    example = bars[symbols[0]].tail(300).reset_index().assign(symbol=symbols[0])
    run_id, model_uri = log_training_run(
        experiment, f"volatility-{chosen}-h{horizon}", params={
            **params, **{f"model__{k}": v for k, v in fitted[symbols[0]].get_params().items()}},
        metrics=metrics, tags={"data_digest": digest, "data_ranges": json.dumps(bundle.metadata["data_ranges"]),
                               "task": "volatility"}, bars=bars, model=bundle,
        example=example[["symbol", "ts", "open", "high", "low", "close", "volume"]],
        files=lambda: evaluation_files(table, plots))
    create_markdown_artifact(key="volatility-walk-forward", markdown=(
        f"# Volatility walk-forward (h={horizon})\n\nChosen: **{chosen}**; MLflow run `{run_id}`\n\n"
        + table.round(4).to_markdown()), description="Out-of-sample results per model and series")
    tags = {"model": chosen, "horizon": str(horizon), "data_digest": digest, "settings": settings_key}
    candidate = Candidate(model_uri, run_id, "qlike", metrics["qlike_mean"], metrics, tags, f"{chosen}, horizon {horizon}")
    evaluated = table.groupby(level="model")["qlike"].mean().astype(float).to_dict()
    return TrainOutcome(candidate, chosen, horizon, digest, evaluated,
                        (config.horizon, config.refit_every, config.test_fraction, tuple(sorted(symbols))))


def evaluation_files(table: pd.DataFrame, plots: list) -> dict[str, bytes | str]:
    """The run's ``evaluation/`` folder: the results table (CSV, markdown) and the plots."""
    pngs = {f"evaluation/{name}": png for f in plots for name, png in f.result().items()}
    return {"evaluation/walk_forward_results.csv": table.round(6).to_csv(),
            "evaluation/walk_forward_results.md": table.round(4).to_markdown(), **pngs}


def champion_score(champion, outcome: TrainOutcome, symbols: list[str], timeframe: str) -> float | None:
    """The champion's mean QLIKE on the candidate's data and protocol: its run's metric when it trained on the same
    data; the candidate's own walk-forward of the champion's model when that evaluated it with the champion's
    settings (a retrain with the champion's recipe always does: the same numbers, not computed twice); otherwise
    its model re-evaluated on the current data."""
    if champion is None:
        return None
    run = mlflow.get_run(champion.run_id)
    if run.data.tags.get("data_digest") == outcome.data_digest and "qlike_mean" in run.data.metrics:
        return float(run.data.metrics["qlike_mean"])
    params = run.data.params
    config = WalkForwardConfig(horizon=int(params.get("horizon", outcome.horizon)),
                               refit_every=int(params.get("refit_every", 21)),
                               test_fraction=float(params.get("test_fraction", 0.4)))
    if outcome.protocol == (config.horizon, config.refit_every, config.test_fraction, tuple(sorted(symbols))) \
            and params.get("model") in outcome.evaluated:
        return outcome.evaluated[params["model"]]
    url = get_settings().db_url
    scores = [walk_forward.fn(load_bars.fn(url, s, timeframe), [params["model"]], config).results["qlike"].iloc[0]
              for s in symbols]
    return float(pd.Series(scores).mean())
