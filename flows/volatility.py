"""Volatility predictor flows: train (walk-forward evaluate + fit) and register (champion/challenger).

``python -m flows.volatility`` runs :func:`volatility_pipeline` on the bundled daily datasets.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from flows.common import load_bars, load_series, png_files, task_runner
from flows.registration import (
    Candidate,
    RegisterOutcome,
    read_champion,
    recorded_training,
    register_candidate,
    up_to_date_champion,
)
from ml.bundles import SymbolModels
from ml.datasets import DAILY_SAMPLES
from ml.volatility.evaluation import (
    WalkForwardConfig,
    WalkForwardResult,
    combine_results,
    evaluate_models,
    select_best,
)
from ml.volatility.registry import DEFAULT_MODEL, make_model

EXPERIMENT = "abtpro-volatility"
GARCH = "garch_t"
HAR_VARIANTS = ("har_gk_log", "har_pk_log")
DEFAULT_CANDIDATES = ("ewma", GARCH, *HAR_VARIANTS, DEFAULT_MODEL)
COVERAGE_BAND = (0.85, 0.95)


@dataclass(frozen=True)
class TrainOutcome:
    """What ``train_volatility`` produced: the registrable candidate plus what the champion check needs."""

    candidate: Candidate
    model_name: str
    horizon: int
    data_digest: str


def data_digest(bars: dict[str, pd.DataFrame]) -> str:
    """Identity of the training data across series (tagged on runs and model versions)."""
    return registry.frame_digest(pd.concat(bars, names=["symbol"]))


@task(cache_policy=NO_CACHE)
def walk_forward(bars: pd.DataFrame, candidates: list[str], config: WalkForwardConfig) -> WalkForwardResult:
    """Walk-forward evaluation of every candidate on one series (out-of-sample window only)."""
    return evaluate_models(bars, {name: make_model(name, config.horizon) for name in candidates}, config)


@task(cache_policy=NO_CACHE)
def fit_final(bars: pd.DataFrame, model_name: str, horizon: int):
    """Fit the chosen model on the whole history of one series."""
    return make_model(model_name, horizon).fit(bars)


def _summary(per_symbol: dict[str, WalkForwardResult]) -> pd.DataFrame:
    frames = {symbol: wf.results for symbol, wf in per_symbol.items()}
    return pd.concat(frames, names=["symbol", "model"])


def _ratios(table: pd.DataFrame, candidates: list[str]) -> pd.DataFrame:
    """QLIKE ratio of each model to GARCH-t and to the best HAR variant, per symbol."""
    out = table.copy()
    hars = [h for h in HAR_VARIANTS if h in candidates]
    for symbol, group in table.groupby(level="symbol"):
        q = group["qlike"].droplevel("symbol")
        if GARCH in q:
            out.loc[symbol, "ratio_garch"] = (q / q[GARCH]).to_numpy()
        if hars:
            out.loc[symbol, "ratio_best_har"] = (q / q[hars].min()).to_numpy()
    return out


def _metrics(table: pd.DataFrame, chosen: str) -> dict[str, float]:
    rows = table.xs(chosen, level="model")
    metrics = {}
    for symbol, row in rows.iterrows():
        for col in ("qlike", "mse", "mae", "rmse", "dir_acc", "coverage", "width", "ratio_garch", "ratio_best_har"):
            if col in row and pd.notna(row[col]):
                metrics[f"{col}_{symbol}"] = float(row[col])
    for col in ("qlike", "mae", "rmse", "dir_acc", "coverage", "ratio_garch", "ratio_best_har"):
        if col in rows:
            metrics[f"{col}_mean"] = float(rows[col].mean())
    metrics["qlike_ratio_garch_max"] = float(rows["ratio_garch"].max()) if "ratio_garch" in rows else float("nan")
    return metrics


@task(cache_policy=NO_CACHE)
def render_plots(symbol: str, forecasts: pd.DataFrame, chosen: str) -> dict[str, bytes]:
    """PNG plots of the chosen model's out-of-sample forecasts on one series (file name -> bytes); a task, so
    they render on the task runner alongside the final fits instead of serially in the flow."""
    from ml.volatility import plots

    return png_files({f"forecast_vs_realised_{symbol}": plots.forecast_vs_realised(
                          forecasts, title=f"{symbol}: {chosen} vs realised"),
                      f"interval_calibration_{symbol}": plots.interval_calibration(
                          forecasts, title=f"{symbol}: interval calibration")}, dpi=110)


def _log_artifacts(table: pd.DataFrame, pngs: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        table.round(6).to_csv(root / "walk_forward_results.csv")
        (root / "walk_forward_results.md").write_text(table.round(4).to_markdown())
        for name, png in pngs.items():
            (root / name).write_bytes(png)
        mlflow.log_artifacts(str(root), artifact_path="evaluation")


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
    settings = get_settings()
    logger = get_run_logger()
    symbols = list(symbols or DAILY_SAMPLES)
    settings_key = _settings_key(horizon, candidates, model)
    candidates = list(dict.fromkeys([*(candidates or DEFAULT_CANDIDATES), *([model] if model else [])]))
    config = WalkForwardConfig(horizon=horizon, refit_every=refit_every, test_fraction=test_fraction)
    bars = load_series(settings.db_url, symbols, timeframe)
    logger.info("walk-forward of %s on %s (refit every %d bars, test = last %.0f%%)", candidates, symbols,
                refit_every, test_fraction * 100)
    # one task per (series, candidate), longest series first: fine-grained enough to keep every worker busy
    order = sorted(bars, key=lambda s: -len(bars[s]))
    futures = {(s, c): walk_forward.submit(bars[s], [c], config) for s in order for c in candidates}
    per_symbol = {s: combine_results([futures[s, c].result() for c in candidates]) for s in symbols}
    table = _ratios(_summary(per_symbol), candidates)
    mean = table.groupby(level="model").mean(numeric_only=True)
    # the best model whose intervals pass the coverage gate; if none does, the best by QLIKE (the
    # registration gate then keeps it from becoming champion)
    chosen = model or select_best(mean, metric="qlike", coverage_band=COVERAGE_BAND,
                                  default=str(mean["qlike"].astype("float64").idxmin()))
    logger.info("chosen model: %s (mean out-of-sample QLIKE %.4f)", chosen, mean.loc[chosen, "qlike"])
    fits = {s: fit_final.submit(b, chosen, horizon) for s, b in bars.items()}
    plots = [render_plots.submit(s, wf.forecasts[wf.forecasts["model"] == chosen], chosen)
             for s, wf in per_symbol.items()]
    fitted = {s: f.result() for s, f in fits.items()}
    digest = data_digest(bars)
    bundle = SymbolModels(fitted, default_symbol=symbols[0], metadata={
        "model": chosen, "horizon": horizon, "timeframe": timeframe, "units": "per-bar realised volatility",
        "coverage": config.coverage, "data_ranges": {s: [str(b.index[0]), str(b.index[-1])] for s, b in bars.items()}})
    registry.ensure_experiment(settings, EXPERIMENT)
    with mlflow.start_run(run_name=f"volatility-{chosen}-h{horizon}") as run:
        mlflow.log_params({"model": chosen, "horizon": horizon, "timeframe": timeframe, "symbols": ",".join(symbols),
                           "candidates": ",".join(candidates), "refit_every": refit_every,
                           "test_fraction": test_fraction, **{f"model__{k}": v for k, v in
                                                              fitted[symbols[0]].get_params().items()}})
        metrics = _metrics(table, chosen)
        mlflow.log_metrics({k: v for k, v in metrics.items() if pd.notna(v)})
        mlflow.set_tags({"data_digest": digest, "code_version": registry.code_version(),
                         "data_ranges": json.dumps(bundle.metadata["data_ranges"]), "task": "volatility"})
        registry.log_training_data(bars)
        _log_artifacts(table, {name: png for f in plots for name, png in f.result().items()})
        example = bars[symbols[0]].tail(300).reset_index().assign(symbol=symbols[0])
        info = registry.log_model(bundle, example[["symbol", "ts", "open", "high", "low", "close", "volume"]])
    create_markdown_artifact(key="volatility-walk-forward", markdown=(
        f"# Volatility walk-forward (h={horizon})\n\nChosen: **{chosen}**; MLflow run `{run.info.run_id}`\n\n"
        + table.round(4).to_markdown()), description="Out-of-sample results per model and series")
    tags = {"model": chosen, "horizon": str(horizon), "data_digest": digest, "settings": settings_key}
    candidate = Candidate(info.model_uri, run.info.run_id, "qlike", metrics["qlike_mean"], metrics, tags,
                          f"{chosen}, horizon {horizon}")
    return TrainOutcome(candidate, chosen, horizon, digest)


def _champion_score(champion, outcome: TrainOutcome, symbols: list[str], timeframe: str) -> float | None:
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
    settings = get_settings()
    scores = [walk_forward.fn(load_bars.fn(settings.db_url, s, timeframe), [params["model"]], config)
              .results["qlike"].iloc[0] for s in symbols]
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
    registry.configure(get_settings())
    symbols = list(symbols or DAILY_SAMPLES)
    champion = read_champion(registry.VOLATILITY_MODEL)
    m = outcome.candidate.metrics
    gates = {
        f"qlike ratio to GARCH-t <= {max_qlike_ratio_garch}": m.get("qlike_ratio_garch_max", 0.0) <= max_qlike_ratio_garch,
        f"coverage in {coverage_band}": coverage_band[0] <= m.get("coverage_mean", 0.0) <= coverage_band[1],
    }
    return register_candidate(registry.VOLATILITY_MODEL, outcome.candidate,
                              _champion_score(champion, outcome, symbols, timeframe), lower_is_better=True,
                              min_improvement=min_improvement, gates=gates)


@flow(name="volatility-pipeline", log_prints=True)
def volatility_pipeline(symbols: list[str] | None = None, timeframe: str = "1d", horizon: int = 5,
                        candidates: list[str] | None = None, refit_every: int = 21, test_fraction: float = 0.4,
                        min_improvement: float = 0.02, model: str | None = None, training_id: int | None = None,
                        actor: str = "pipeline", force: bool = True) -> RegisterOutcome:
    """Train, evaluate and register the volatility predictor, recording an ``MLModelTraining`` row.

    With ``force=False`` nothing is retrained when the champion was trained on exactly the current
    data with the same settings (re-running the quick start is then fast and registers no duplicate).
    """
    settings = get_settings()
    symbols = list(symbols or DAILY_SAMPLES)
    if not force and training_id is None:
        digest = data_digest(load_series(settings.db_url, symbols, timeframe))
        current = up_to_date_champion(registry.VOLATILITY_MODEL, digest, _settings_key(horizon, candidates, model))
        if current is not None:
            return current
    params = {"horizon": horizon, "candidates": candidates, "model": model, "refit_every": refit_every,
              "test_fraction": test_fraction, "min_improvement": min_improvement}

    def train_and_register() -> tuple[Candidate, RegisterOutcome]:
        train = train_volatility.with_options(task_runner=task_runner(settings))
        outcome = train(symbols, timeframe, horizon, candidates, refit_every, test_fraction, model)
        return outcome.candidate, register_volatility(outcome, symbols, timeframe, min_improvement)

    return recorded_training("VOLATILITY", registry.VOLATILITY_MODEL, params,
                             {"symbols": symbols, "timeframe": timeframe}, train_and_register, training_id, actor)


def _settings_key(horizon: int, candidates: list[str] | None, model: str | None) -> str:
    return json.dumps({"horizon": horizon, "candidates": sorted(candidates or DEFAULT_CANDIDATES), "model": model})


if __name__ == "__main__":
    print(volatility_pipeline())
