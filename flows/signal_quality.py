"""Signal quality scorer flows: train (purged walk-forward evaluation + final fit) and register.

Meta-labelling (López de Prado, AFML ch. 3): the primary strategies' signals (pooled over several
parameter sets per strategy) get triple-barrier labels and quality features per (symbol,
strategy); ONE scorer is trained on every set pooled (the strategy is a feature), evaluated out of
sample by purged, embargoed walk-forward CV against the take-every-signal and logistic baselines,
then fitted on every resolved signal and registered with the champion/challenger rules. The recipe and
the report are pure (:mod:`ml.signal_quality.recipe`, :mod:`ml.signal_quality.summary`), the gates are
:func:`registry.gates.signal_quality_gates`, the pipeline is the template of :mod:`flows.training`.

``python -m flows.signal_quality`` runs :func:`signal_quality_pipeline` on the bundled daily datasets.
"""

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass

import mlflow
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from flows.common import load_series, png_files, task_threads
from flows.training import data_digest, log_training_run, register_trained, training_pipeline
from ml.datasets import DAILY_SAMPLES
from ml.signal_quality import SignalFeatureConfig
from ml.signal_quality.bundle import ParamGrids, ScorerBundle, SignalSet, make_scorer, prepare_signal_set
from ml.signal_quality.recipe import (
    ModelSettings,
    PooledSets,
    Protocol,
    model_settings,
    pool_sets,
    settings_key,
)
from ml.signal_quality.summary import (
    SUMMARY_METRICS,
    flat_metrics,
    oos_metrics,
    overall_line,
    reference_sample,
    summary_table,
)
from ml.signal_quality.validation import evaluate_oos, walk_forward_predict
from registry.gates import signal_quality_gates
from registry.promotion import Candidate, RegisterOutcome

__all__ = ["EXPERIMENT", "REFERENCE_ARTIFACT", "ModelSettings", "Protocol", "TrainOutcome", "flat_metrics",
           "register_signal_quality", "settings_key", "signal_quality_pipeline", "summary_table",
           "train_signal_quality"]

EXPERIMENT = "abtpro-signal-quality"
BASELINES = ("take_all", "logistic")
#: Run artifact holding the feature rows the final scorer was fitted on (the drift reference of ``monitor-models``).
REFERENCE_ARTIFACT = "reference/signal_features.parquet"
_settings = model_settings  # the name the flow tests and older callers use


@dataclass(frozen=True)
class TrainOutcome:
    """What ``train_signal_quality`` produced: the registrable candidate plus what the champion check needs."""

    candidate: Candidate
    model_name: str
    data_digest: str
    protocol: str


@task(cache_policy=NO_CACHE)
def prepare_set(bars: pd.DataFrame, symbol: str, strategy: str, param_sets: list[dict],
                config: SignalFeatureConfig) -> SignalSet:
    """Signals (pooled over the parameter sets), triple-barrier labels, weights and features of one set."""
    return prepare_signal_set(bars, symbol, strategy, param_sets, config)


def _scorer(model: str, scorer_params: dict):
    """An unfitted scorer for a task run: its threads (``n_jobs``) capped by :func:`flows.common.task_threads`."""
    return make_scorer(model, **{**scorer_params, "n_jobs": task_threads(scorer_params.get("n_jobs", 1))})


@task(cache_policy=NO_CACHE)
def walk_forward(model: str, scorer_params: dict, pooled: PooledSets, protocol: Protocol,
                 folds: list[int] | None = None) -> pd.DataFrame:
    """Out-of-sample scores of one scorer by purged walk-forward CV over the pooled sets (only ``folds``, if
    given)."""
    oos, _ = walk_forward_predict(lambda: _scorer(model, scorer_params), pooled.X, pooled.labels, protocol.cv(),
                                  pooled.weights, folds=folds)
    return oos


@task(cache_policy=NO_CACHE)
def fit_final(model: str, scorer_params: dict, pooled: PooledSets):
    """Fit the scorer on every resolved signal (calibration on the latest of them)."""
    lab = pooled.labels
    return _scorer(model, scorer_params).fit(pooled.X, lab["label"], pooled.weights, lab["exit_time"].to_numpy())


@task(cache_policy=NO_CACHE)
def render_plots(oos: pd.DataFrame, sweep: pd.DataFrame, importance: pd.Series | None) -> dict[str, bytes]:
    """PNG plots of the out-of-sample evaluation (calibration, ROC, threshold sweep, feature importance); a task,
    so they render on the task runner while the flow logs the run."""
    from ml.signal_quality import plots

    y, p = oos["label"], oos["score"]
    figures = {"calibration": plots.plot_calibration(y, p), "roc": plots.plot_roc(y, p),
               "threshold_sweep": plots.plot_threshold_sweep(sweep)}
    if importance is not None:
        figures["feature_importance"] = plots.plot_feature_importance(importance)
    return png_files(figures, dpi=90)


def build_sets(bars: dict[str, pd.DataFrame], settings: ModelSettings) -> PooledSets:
    """Prepare every symbol x strategy set concurrently (one task run each) and pool them."""
    config = settings.feature_config()
    futures = {f"{symbol}|{strategy}": prepare_set.submit(b, symbol, strategy, settings.grid(strategy), config)
               for symbol, b in bars.items() for strategy in settings.strategies}
    return pool_sets({name: f.result() for name, f in futures.items()})


def evaluate_models(pooled: PooledSets, models: list[str], scorer_params: dict,
                    protocol: Protocol) -> dict[str, pd.DataFrame]:
    """Out-of-sample scores of every model, all concurrently: the first (the scorer being trained, the costly
    one) as one task run per test fold, latest (largest training set) first, the baselines (cheap) one task
    run each. Folds computed apart and concatenated in fold order equal the whole walk-forward."""
    first, *rest = models
    resolved = int(pooled.labels["label"].notna().sum())
    folds = [walk_forward.submit(first, scorer_params, pooled, protocol, [fold])
             for fold in reversed(protocol.cv().test_folds(resolved))]
    futures = {m: walk_forward.submit(m, scorer_params, pooled, protocol) for m in rest}
    return {first: pd.concat([f.result() for f in reversed(folds)]), **{m: f.result() for m, f in futures.items()}}


def run_params(ms: ModelSettings, protocol: Protocol, bars: dict, pooled: PooledSets, scorer, timeframe: str) -> dict:
    """The MLflow params of a training run: the recipe, the protocol, the data's shape and the scorer's."""
    return {
        "model": ms.model, "symbols": ",".join(bars), "timeframe": timeframe, "strategies": ",".join(ms.strategies),
        "param_grids": json.dumps(ms.param_grids), "pt_mult": ms.pt_mult, "sl_mult": ms.sl_mult,
        "max_holding": ms.max_holding, "vol_span": ms.vol_span, "use_shared_features": ms.use_shared_features,
        **asdict(protocol), "feature_config_hash": ms.feature_config().config_hash(),
        "n_features": pooled.X.shape[1], "n_signals": len(pooled.X), "threshold": float(scorer.threshold_),
        **{f"model__{k}": v for k, v in scorer.get_params().items()}}


def run_files(table: pd.DataFrame, ev: dict[str, pd.DataFrame], importance: pd.Series | None, plots,
              pooled: PooledSets) -> dict[str, bytes | str]:
    """The run's files: the drift reference (:data:`REFERENCE_ARTIFACT`) and the ``evaluation/`` folder."""
    reference = io.BytesIO()
    reference_sample(pooled).to_parquet(reference, index=False)
    files = {REFERENCE_ARTIFACT: reference.getvalue(),
             "evaluation/oos_summary.csv": table.round(6).to_csv(),
             "evaluation/oos_summary.md": table.round(4).to_markdown(),
             "evaluation/threshold_sweep.csv": ev["sweep"].round(6).to_csv(index=False),
             "evaluation/threshold_sweep.md": ev["sweep"].round(4).to_markdown(index=False),
             "evaluation/calibration_deciles.csv": ev["calibration"].round(6).to_csv(index=False)}
    if importance is not None:
        files["evaluation/feature_importance.csv"] = importance.rename("gain_share").to_csv()
    return {**files, **{f"evaluation/{name}": png for name, png in plots.result().items()}}


def _markdown(model: str, protocol: Protocol, run_id: str, scorer, table: pd.DataFrame,
              counts: dict[str, int]) -> str:
    return (f"# Signal quality, out of sample (purged walk-forward, {protocol.n_splits} folds)\n\n"
            f"Trained: **{model}**; MLflow run `{run_id}`; threshold {scorer.threshold_:.4f}\n\n"
            + table[list(SUMMARY_METRICS)].round(4).to_markdown()
            + "\n\nSignals per set (after warm-up): " + ", ".join(f"{k} {n}" for k, n in counts.items()))


@flow(name="train-signal-quality", log_prints=True)
def train_signal_quality(symbols: list[str] | None = None, timeframe: str = "1d",
                         strategies: list[str] | None = None, model: str = "xgboost",
                         param_grids: ParamGrids | None = None,
                         pt_mult: float = 1.5, sl_mult: float = 1.5, max_holding: int = 10, vol_span: int = 50,
                         use_shared_features: bool = True, n_estimators: int = 150, max_depth: int = 2,
                         min_keep: float = 0.4, calibration: str = "sigmoid", n_splits: int = 5,
                         min_train_fraction: float = 0.4, embargo_pct: float = 0.01) -> TrainOutcome:
    """Evaluate the scorer out of sample against the baselines, fit it on every signal, log it to MLflow.

    Args:
        symbols: series to train on (default: the bundled daily datasets).
        timeframe: bar timeframe of those series.
        strategies: primary strategies whose signals are scored (default: all registered).
        model: scorer to train: ``xgboost`` (calibrated XGBoost), ``logistic`` or ``take_all``.
        param_grids: strategy -> parameter sets whose signals are pooled (default: 4-5 per strategy).
        pt_mult: take-profit barrier in multiples of the EWM volatility.
        sl_mult: stop-loss barrier in multiples of the EWM volatility.
        max_holding: vertical barrier in bars.
        vol_span: span of the EWM volatility scaling the barriers.
        use_shared_features: add the shared ``ml.features`` columns to the quality factors.
        n_estimators: XGBoost boosting rounds.
        max_depth: XGBoost tree depth.
        min_keep: fraction of the calibration fold the automatic threshold keeps.
        calibration: ``sigmoid`` (Platt) or ``isotonic``.
        n_splits: walk-forward test folds.
        min_train_fraction: leading share of signals never tested (first training window).
        embargo_pct: embargo after each test fold, as a share of the time span.
    """
    symbols = list(symbols or DAILY_SAMPLES)
    ms = model_settings(model, strategies, param_grids, pt_mult, sl_mult, max_holding, vol_span,
                        use_shared_features, n_estimators, max_depth, min_keep, calibration)
    protocol = Protocol(n_splits, min_train_fraction, embargo_pct)
    bars = load_series(get_settings().db_url, symbols, timeframe)
    pooled = build_sets(bars, ms)
    get_run_logger().info("%d signals from %d symbol x strategy sets (%d resolved)", len(pooled.X),
                          len(pooled.counts), int(pooled.labels["label"].notna().sum()))
    final = fit_final.submit(ms.model, ms.scorer_params, pooled)
    oos = evaluate_models(pooled, list(dict.fromkeys([ms.model, *BASELINES])), ms.scorer_params, protocol)
    table = summary_table(oos, ms.model)
    metrics = flat_metrics(table, ms.model)
    get_run_logger().info(overall_line(ms.model, table))
    scorer, evaluation = final.result(), evaluate_oos(oos[ms.model])
    importance = scorer.gain_importance() if hasattr(scorer, "gain_importance") else None
    plots = render_plots.submit(oos[ms.model], evaluation["sweep"], importance)  # rendered while the run is logged
    digest, ranges = data_digest(bars), {s: [str(b.index[0]), str(b.index[-1])] for s, b in bars.items()}
    bundle = ScorerBundle(scorer, ms.feature_config(), list(pooled.X.columns), ms.param_grids, pooled.history,
                          {"model": ms.model, "timeframe": timeframe, "symbols": symbols,
                           "strategies": list(ms.strategies), "data_ranges": ranges})
    run_id, model_uri = log_training_run(
        EXPERIMENT, f"signal-quality-{ms.model}", params=run_params(ms, protocol, bars, pooled, scorer, timeframe),
        metrics=metrics, tags={"data_digest": digest, "task": "signal_quality", "settings": settings_key(ms, protocol),
                               "model_settings": ms.to_json(), "protocol": protocol.to_json(),
                               "data_ranges": json.dumps(ranges)}, bars=bars, model=bundle,
        example=pooled.X.tail(5).reset_index(drop=True),
        files=lambda: run_files(table, evaluation, importance, plots, pooled))
    create_markdown_artifact(key="signal-quality-oos", description="Out-of-sample scorer vs baselines, per dataset "
                             "and strategy", markdown=_markdown(ms.model, protocol, run_id, scorer, table, pooled.counts))
    tags = {"model": ms.model, "data_digest": digest, "settings": settings_key(ms, protocol)}
    candidate = Candidate(model_uri, run_id, "auc", metrics["auc"], metrics, tags,
                          f"{ms.model} on {','.join(symbols)} x {','.join(ms.strategies)}")
    return TrainOutcome(candidate, ms.model, digest, protocol.to_json())


def champion_score(champion, outcome: TrainOutcome, symbols: list[str], timeframe: str) -> float | None:
    """The champion's out-of-sample AUC on the candidate's data and protocol.

    Reuses the champion run's metric when it was measured on the same data with the same protocol;
    otherwise re-runs the champion's settings (run tag ``model_settings``) on the current data.
    """
    if champion is None:
        return None
    run = mlflow.get_run(champion.run_id)
    tags, logged = run.data.tags, run.data.metrics.get("auc")
    if tags.get("data_digest") == outcome.data_digest and tags.get("protocol") == outcome.protocol \
            and logged is not None:
        return float(logged)
    try:
        ms = ModelSettings.from_json(tags["model_settings"])
    except (KeyError, TypeError, ValueError) as err:
        get_run_logger().warning("cannot re-train champion run %s (%s: %s); using its logged AUC", champion.run_id,
                                 type(err).__name__, err)
        return None if logged is None else float(logged)
    protocol = Protocol(**json.loads(outcome.protocol))
    pooled = build_sets(load_series(get_settings().db_url, symbols, timeframe), ms)
    oos = evaluate_models(pooled, [ms.model], ms.scorer_params, protocol)[ms.model]
    return oos_metrics(oos)["auc"]


@flow(name="register-signal-quality", log_prints=True)
def register_signal_quality(outcome: TrainOutcome, symbols: list[str] | None = None, timeframe: str = "1d",
                            min_improvement: float = 0.01, min_auc: float = 0.5, max_ece: float = 0.1,
                            min_kept: float = 0.3, min_auc_lift: float = 0.0) -> RegisterOutcome:
    """Register the trained scorer as ``challenger``; make it ``champion`` only if it wins.

    Args:
        outcome: the result of :func:`train_signal_quality`.
        symbols: the series it was trained on (to re-evaluate the champion on the same data if needed).
        timeframe: their timeframe.
        min_improvement: relative AUC improvement over the champion needed for automatic promotion.
        min_auc, max_ece, min_kept, min_auc_lift: the gates of :func:`registry.gates.signal_quality_gates`.
    """
    symbols = list(symbols or DAILY_SAMPLES)
    gates = signal_quality_gates(outcome.candidate.metrics, min_auc, max_ece, min_kept, min_auc_lift)
    return register_trained(registry.SIGNAL_QUALITY_MODEL, outcome.candidate,
                            lambda champion: champion_score(champion, outcome, symbols, timeframe), gates,
                            lower_is_better=False, min_improvement=min_improvement)


@flow(name="signal-quality-pipeline", log_prints=True)
def signal_quality_pipeline(symbols: list[str] | None = None, timeframe: str = "1d",
                            strategies: list[str] | None = None, model: str = "xgboost",
                            param_grids: ParamGrids | None = None, pt_mult: float = 1.5,
                            sl_mult: float = 1.5, max_holding: int = 10, vol_span: int = 50,
                            use_shared_features: bool = True, n_estimators: int = 150, max_depth: int = 2,
                            min_keep: float = 0.4, calibration: str = "sigmoid", n_splits: int = 5,
                            min_train_fraction: float = 0.4, embargo_pct: float = 0.01,
                            min_improvement: float = 0.01, min_auc: float = 0.5, max_ece: float = 0.1,
                            min_kept: float = 0.3, min_auc_lift: float = 0.0, training_id: int | None = None,
                            actor: str = "pipeline", force: bool = True) -> RegisterOutcome:
    """Train, evaluate and register the signal quality scorer, recording an ``MLModelTraining`` row.

    Parameters are those of :func:`train_signal_quality` and :func:`register_signal_quality`. With
    ``force=False`` nothing is retrained when the champion was trained on exactly the current data
    with the same settings.
    """
    train = {"strategies": strategies, "model": model, "param_grids": param_grids, "pt_mult": pt_mult,
             "sl_mult": sl_mult, "max_holding": max_holding, "vol_span": vol_span,
             "use_shared_features": use_shared_features, "n_estimators": n_estimators, "max_depth": max_depth,
             "min_keep": min_keep, "calibration": calibration}
    validation = {"n_splits": n_splits, "min_train_fraction": min_train_fraction, "embargo_pct": embargo_pct}
    gates = {"min_improvement": min_improvement, "min_auc": min_auc, "max_ece": max_ece, "min_kept": min_kept,
             "min_auc_lift": min_auc_lift}
    return training_pipeline(
        "SIGNAL_QUALITY", registry.SIGNAL_QUALITY_MODEL, symbols=list(symbols or DAILY_SAMPLES),
        timeframe=timeframe, params={**train, **validation, **gates},
        settings_key=lambda: settings_key(model_settings(**train), Protocol(**validation)),
        train=train_signal_quality, train_args={**train, **validation}, register=register_signal_quality,
        register_args=gates, force=force, training_id=training_id, actor=actor)


if __name__ == "__main__":
    print(signal_quality_pipeline())
