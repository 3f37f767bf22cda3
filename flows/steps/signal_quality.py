"""The steps of the signal-quality flows (:mod:`flows.signal_quality`): one task per (symbol, strategy) set, per
walk-forward fold and per baseline, the final fit, the plots, and the champion's score on the candidate's data.

Contents: the tasks :func:`prepare_set`, :func:`walk_forward`, :func:`fit_final`, :func:`render_plots`; their
fan-outs :func:`build_sets` (with the resolved platform signals of :func:`platform_rows`), :func:`evaluate_models`;
:func:`champion_score`. The training run's record (params, files, artifact, candidate) is
:mod:`flows.steps.signal_quality_run`."""

from __future__ import annotations

import json
from dataclasses import replace

import mlflow
import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from abtpro.settings import get_settings
from flows.common import load_series, png_files, task_threads
from ml.signal_quality import SignalFeatureConfig
from ml.signal_quality.bundle import SignalSet, make_scorer, prepare_signal_set, training_closes
from ml.signal_quality.platform import caller_feature_columns, platform_signal_sets
from ml.signal_quality.recipe import ModelSettings, PooledSets, Protocol, pool_sets
from ml.signal_quality.summary import oos_metrics
from ml.signal_quality.validation import walk_forward_predict
from store import training_outcomes

#: Run artifact holding the feature rows the final scorer was fitted on (the drift reference of ``monitor-models``).
REFERENCE_ARTIFACT = "reference/signal_features.parquet"


@task(cache_policy=NO_CACHE)
def prepare_set(bars: pd.DataFrame, symbol: str, strategy: str, param_sets: list[dict],
                config: SignalFeatureConfig, closes: dict[str, pd.Series] | None = None) -> SignalSet:
    """Signals (pooled over the parameter sets), triple-barrier labels, weights and features of one set (with
    the cross-asset context of ``closes``, every training series' close)."""
    return prepare_signal_set(bars, symbol, strategy, param_sets, config, closes)


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


def platform_rows(symbols: list[str], timeframe: str) -> pd.DataFrame:
    """The resolved platform signals of the series (:func:`store.training_outcomes.platform_training_rows`),
    users pseudonymised with the install's key."""
    settings = get_settings()
    key = training_outcomes.pseudonym_key(settings.resolved_data_dir())
    return training_outcomes.platform_training_rows(settings.db_url, key, symbols, timeframe)


def build_sets(bars: dict[str, pd.DataFrame], settings: ModelSettings,
               platform: pd.DataFrame | None = None) -> PooledSets:
    """Prepare every symbol x strategy set concurrently (one task run each) and pool them with the resolved
    platform signals (``platform``, :func:`platform_rows`) aligned to their feature columns."""
    config = settings.feature_config()
    closes = training_closes(bars) if config.cross_asset else None
    futures = {f"{symbol}|{strategy}": prepare_set.submit(b, symbol, strategy, settings.grid(strategy), config,
                                                          closes)
               for symbol, b in bars.items() for strategy in settings.strategies}
    sets = {name: f.result() for name, f in futures.items()}
    extra = None
    if platform is not None and len(platform):
        # strategy-supplied features enough reported outcomes carry join the columns (NaN in bar-derived rows)
        columns = list(next(iter(sets.values())).X.columns) + caller_feature_columns(platform)
        sets = {name: replace(s, X=s.X.reindex(columns=columns)) for name, s in sets.items()}
        extra = platform_signal_sets(platform, columns)
    return pool_sets(sets, extra)


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


def champion_score(champion, outcome, symbols: list[str], timeframe: str) -> float | None:
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
    pooled = build_sets(load_series(get_settings().db_url, symbols, timeframe), ms, platform_rows(symbols, timeframe))
    oos = evaluate_models(pooled, [ms.model], ms.scorer_params, protocol)[ms.model]
    return oos_metrics(oos)["auc"]
