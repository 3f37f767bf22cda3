"""Signal quality scorer flows: train (purged walk-forward evaluation + final fit) and register.

Meta-labelling (López de Prado, AFML ch. 3): the primary strategies' signals (pooled over several
parameter sets per strategy) get triple-barrier labels and quality features per (symbol,
strategy), and the signals the platform had scored and whose outcome is known join them with their
stored feature rows (:mod:`ml.signal_quality.platform`; users pseudonymous); ONE scorer is trained on
every set pooled (the strategy is a feature), evaluated out of sample by purged, embargoed walk-forward
CV against the take-every-signal and logistic baselines, then fitted on every resolved signal and
registered with the champion/challenger rules.

- ``signal-quality-pipeline`` (:func:`signal_quality_pipeline`): the template of :mod:`flows.training`.
- ``train-signal-quality`` (:func:`train_signal_quality`): evaluate, fit, log the run.
- ``register-signal-quality`` (:func:`register_signal_quality`): gates, then champion/challenger.

The steps are :mod:`flows.steps.signal_quality` and :mod:`flows.steps.signal_quality_run`; the recipe and the
report are pure (:mod:`ml.signal_quality.recipe`, :mod:`ml.signal_quality.summary`), the gates are
:func:`registry.gates.signal_quality_gates`.

``python -m flows.signal_quality`` runs :func:`signal_quality_pipeline` on the bundled daily datasets.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

import registry
from abtpro.settings import get_settings
from flows.common import load_series
from flows.registration import up_to_date_champion
from flows.steps.signal_quality import (
    REFERENCE_ARTIFACT,
    build_sets,
    champion_score,
    evaluate_models,
    fit_final,
    platform_rows,
)
from flows.steps.signal_quality_run import TrainOutcome, record_training, training_data_digest
from flows.training import register_trained, training_pipeline
from ml.datasets import DAILY_SAMPLES
from ml.signal_quality.bundle import ParamGrids
from ml.signal_quality.recipe import ModelSettings, Protocol, model_settings, settings_key
from ml.signal_quality.summary import flat_metrics, overall_line, summary_table
from registry.gates import signal_quality_gates
from registry.promotion import RegisterOutcome

__all__ = ["EXPERIMENT", "REFERENCE_ARTIFACT", "ModelSettings", "Protocol", "TrainOutcome", "flat_metrics",
           "register_signal_quality", "settings_key", "signal_quality_pipeline", "summary_table",
           "train_signal_quality"]

EXPERIMENT = "abtpro-signal-quality"
BASELINES = ("take_all", "logistic")
_settings = model_settings  # the name the flow tests and older callers use


@flow(name="signal-quality-pipeline", log_prints=True)
def signal_quality_pipeline(symbols: list[str] | None = None, timeframe: str = "1d",
                            strategies: list[str] | None = None, model: str = "xgboost",
                            param_grids: ParamGrids | None = None, pt_mult: float = 1.5,
                            sl_mult: float = 1.5, max_holding: int = 10, vol_span: int = 50,
                            use_shared_features: bool = True, n_estimators: int = 150, max_depth: int = 2,
                            min_keep: float = 0.4, calibration: str = "sigmoid",
                            cross_asset: bool = ModelSettings.cross_asset, n_splits: int = 5,
                            min_train_fraction: float = 0.4, embargo_pct: float = 0.01,
                            min_improvement: float = 0.01, min_auc: float = 0.5, max_ece: float = 0.1,
                            min_kept: float = 0.3, min_auc_lift: float = 0.0, training_id: int | None = None,
                            actor: str = "pipeline", force: bool = True) -> RegisterOutcome:
    """Train, evaluate and register the signal quality scorer, recording an ``MLModelTraining`` row.

    Parameters are those of :func:`train_signal_quality` and :func:`register_signal_quality`. With
    ``force=False`` nothing is retrained when the champion was trained on exactly the current data (the
    bars and the resolved platform signals) with the same settings.
    """
    train = {"strategies": strategies, "model": model, "param_grids": param_grids, "pt_mult": pt_mult,
             "sl_mult": sl_mult, "max_holding": max_holding, "vol_span": vol_span,
             "use_shared_features": use_shared_features, "n_estimators": n_estimators, "max_depth": max_depth,
             "min_keep": min_keep, "calibration": calibration, "cross_asset": cross_asset}
    validation = {"n_splits": n_splits, "min_train_fraction": min_train_fraction, "embargo_pct": embargo_pct}
    gates = {"min_improvement": min_improvement, "min_auc": min_auc, "max_ece": max_ece, "min_kept": min_kept,
             "min_auc_lift": min_auc_lift}
    symbols = list(symbols or DAILY_SAMPLES)
    if not force and training_id is None:  # the data digest includes the resolved platform signals
        bars = load_series(get_settings().db_url, symbols, timeframe)
        current = up_to_date_champion(registry.SIGNAL_QUALITY_MODEL,
                                      training_data_digest(bars, platform_rows(symbols, timeframe)),
                                      settings_key(model_settings(**train), Protocol(**validation)))
        if current is not None:
            return current
    return training_pipeline(
        "SIGNAL_QUALITY", registry.SIGNAL_QUALITY_MODEL, symbols=symbols,
        timeframe=timeframe, params={**train, **validation, **gates},
        settings_key=lambda: settings_key(model_settings(**train), Protocol(**validation)),
        train=train_signal_quality, train_args={**train, **validation}, register=register_signal_quality,
        register_args=gates, force=True, training_id=training_id, actor=actor)


@flow(name="train-signal-quality", log_prints=True)
def train_signal_quality(symbols: list[str] | None = None, timeframe: str = "1d",
                         strategies: list[str] | None = None, model: str = "xgboost",
                         param_grids: ParamGrids | None = None,
                         pt_mult: float = 1.5, sl_mult: float = 1.5, max_holding: int = 10, vol_span: int = 50,
                         use_shared_features: bool = True, n_estimators: int = 150, max_depth: int = 2,
                         min_keep: float = 0.4, calibration: str = "sigmoid",
                         cross_asset: bool = ModelSettings.cross_asset, n_splits: int = 5,
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
        cross_asset: add the cross-asset context of the other training series (reference correlation, market
            breadth, the reference's volatility regime and trend; :mod:`ml.signal_quality.features.cross_asset`).
        n_splits: walk-forward test folds.
        min_train_fraction: leading share of signals never tested (first training window).
        embargo_pct: embargo after each test fold, as a share of the time span.
    """
    symbols = list(symbols or DAILY_SAMPLES)
    ms = model_settings(model, strategies, param_grids, pt_mult, sl_mult, max_holding, vol_span,
                        use_shared_features, n_estimators, max_depth, min_keep, calibration, cross_asset)
    protocol = Protocol(n_splits, min_train_fraction, embargo_pct)
    bars = load_series(get_settings().db_url, symbols, timeframe)
    platform = platform_rows(symbols, timeframe)
    pooled = build_sets(bars, ms, platform)
    get_run_logger().info("%d signals from %d symbol x strategy sets (%d resolved; %d resolved platform signals)",
                          len(pooled.X), len(pooled.counts), int(pooled.labels["label"].notna().sum()),
                          pooled.n_platform)
    final = fit_final.submit(ms.model, ms.scorer_params, pooled)
    oos = evaluate_models(pooled, list(dict.fromkeys([ms.model, *BASELINES])), ms.scorer_params, protocol)
    table = summary_table(oos, ms.model)
    get_run_logger().info(overall_line(ms.model, table))
    return record_training(EXPERIMENT, bars, symbols, timeframe, ms=ms, protocol=protocol, pooled=pooled,
                           final=final, oos=oos, table=table, platform=platform)


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


if __name__ == "__main__":
    print(signal_quality_pipeline())
