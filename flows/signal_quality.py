"""Signal quality scorer flows: train (purged walk-forward evaluation + final fit) and register.

Meta-labelling (López de Prado, AFML ch. 3): the primary strategies' signals (pooled over several
parameter sets per strategy) get triple-barrier labels and quality features per (symbol,
strategy); ONE scorer is trained on every set pooled (the strategy is a feature), evaluated out of
sample by purged, embargoed walk-forward CV against the take-every-signal and logistic baselines,
then fitted on every resolved signal and registered with the champion/challenger rules.

``python -m flows.signal_quality`` runs :func:`signal_quality_pipeline` on the bundled daily datasets.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from flows.common import load_series, png_files, task_runner, task_threads
from flows.registration import (
    Candidate,
    RegisterOutcome,
    recorded_training,
    register_candidate,
    up_to_date_champion,
)
from flows.volatility import data_digest
from ml.datasets import DAILY_SAMPLES
from ml.signal_quality import BarrierConfig, SignalFeatureConfig
from ml.signal_quality.bundle import (
    DEFAULT_PARAM_GRIDS,
    ParamGrids,
    ScorerBundle,
    SignalSet,
    make_scorer,
    prepare_signal_set,
)
from ml.signal_quality.validation import (
    PurgedWalkForwardCV,
    evaluate_oos,
    pool_signal_sets,
    walk_forward_predict,
)
from ml.strategies import STRATEGIES

EXPERIMENT = "abtpro-signal-quality"
BASELINES = ("take_all", "logistic")
SUMMARY_METRICS = ("auc", "brier", "ece", "precision", "recall", "f1", "kept_frac", "win_all", "win_kept",
                   "win_ratio", "ret_all", "ret_kept", "sharpe_all", "sharpe_kept", "mdd_all", "mdd_kept")
BASELINE_METRICS = ("auc", "brier", "ece", "kept_frac", "win_kept", "win_ratio", "ret_kept")
#: Run artifact holding the feature rows the final scorer was fitted on (the drift reference of ``monitor-models``).
REFERENCE_ARTIFACT = "reference/signal_features.parquet"
#: Most rows kept in the drift reference (a seeded random sample of the fitted rows beyond that).
REFERENCE_MAX_ROWS = 5_000


@dataclass(frozen=True)
class ModelSettings:
    """What is trained: scorer, its parameters, the primary strategies and the label/feature settings.

    Serialised as JSON on the MLflow run (tag ``model_settings``) so the champion can be re-trained
    under a new protocol or on new data when it has to be compared with a candidate.
    """

    model: str = "xgboost"
    strategies: tuple[str, ...] = tuple(STRATEGIES)
    param_grids: ParamGrids = field(default_factory=lambda: DEFAULT_PARAM_GRIDS)
    pt_mult: float = 1.5
    sl_mult: float = 1.5
    max_holding: int = 10
    vol_span: int = 50
    use_shared_features: bool = True
    scorer_params: dict[str, Any] = field(default_factory=dict)

    def feature_config(self) -> SignalFeatureConfig:
        barrier = BarrierConfig(pt_mult=self.pt_mult, sl_mult=self.sl_mult, max_holding=self.max_holding,
                                vol_span=self.vol_span)
        return SignalFeatureConfig(barrier=barrier, use_shared_features=self.use_shared_features)

    def grid(self, strategy: str) -> list[dict]:
        return list(self.param_grids.get(strategy) or [{}])

    def to_json(self) -> str:
        return json.dumps({**asdict(self), "strategies": list(self.strategies)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> ModelSettings:
        data = json.loads(text)
        return cls(**{**data, "strategies": tuple(data["strategies"])})


@dataclass(frozen=True)
class Protocol:
    """How the out-of-sample score is measured (purged, embargoed walk-forward CV)."""

    n_splits: int = 5
    min_train_fraction: float = 0.4
    embargo_pct: float = 0.01

    def cv(self) -> PurgedWalkForwardCV:
        return PurgedWalkForwardCV(n_splits=self.n_splits, min_train_fraction=self.min_train_fraction,
                                   embargo_pct=self.embargo_pct)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


@dataclass(frozen=True)
class TrainOutcome:
    """What ``train_signal_quality`` produced: the registrable candidate plus what the champion check needs."""

    candidate: Candidate
    model_name: str
    data_digest: str
    protocol: str


@dataclass(frozen=True)
class PooledSets:
    """Every (symbol, strategy) set pooled in time order, plus the history kept in the bundle."""

    X: pd.DataFrame
    labels: pd.DataFrame
    weights: pd.Series | None
    history: pd.DataFrame
    counts: dict[str, int]


# ------------------------------------------------------------------------------------------ tasks


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


# ------------------------------------------------------------------------------- steps, metrics


def build_sets(bars: dict[str, pd.DataFrame], settings: ModelSettings) -> PooledSets:
    """Prepare every symbol x strategy set concurrently (one task run each) and pool them."""
    config = settings.feature_config()
    futures = {f"{symbol}|{strategy}": prepare_set.submit(b, symbol, strategy, settings.grid(strategy), config)
               for symbol, b in bars.items() for strategy in settings.strategies}
    sets = {name: f.result() for name, f in futures.items()}
    X, labels, weights = pool_signal_sets({name: (s.X, s.labels, s.weights) for name, s in sets.items()})
    history = pd.concat([s.history for s in sets.values()], ignore_index=True)
    return PooledSets(X, labels, weights, history, {name: len(s.X) for name, s in sets.items()})


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


def oos_metrics(oos: pd.DataFrame) -> dict[str, float]:
    """Flat metrics of out-of-sample scores: classification at each fold's threshold, calibration
    (ECE) and trading metrics of the signals taken vs all of them."""
    ev = evaluate_oos(oos)
    rep, tr = ev["report"], ev["trading"]
    win_all = tr.loc["all", "win_rate"]
    return {
        "n_oos": float(rep["n"]), "base_rate": rep["base_rate"], "auc": rep["auc"], "brier": rep["brier"],
        "log_loss": rep["log_loss"], "ece": rep["ece"], "precision": rep["precision"], "recall": rep["recall"],
        "f1": rep["f1"], "kept_frac": float(tr.loc["taken", "kept_frac"]),
        "win_all": float(win_all), "win_kept": float(tr.loc["taken", "win_rate"]),
        "win_ratio": float(tr.loc["taken", "win_rate"] / win_all) if win_all else float("nan"),
        "ret_all": float(tr.loc["all", "mean_ret"]), "ret_kept": float(tr.loc["taken", "mean_ret"]),
        "sharpe_all": float(tr.loc["all", "sharpe"]), "sharpe_kept": float(tr.loc["taken", "sharpe"]),
        "mdd_all": float(tr.loc["all", "max_drawdown"]), "mdd_kept": float(tr.loc["taken", "max_drawdown"]),
    }


def summary_table(oos: dict[str, pd.DataFrame], chosen: str) -> pd.DataFrame:
    """Rows per model x dataset (and overall), plus per dataset x strategy for the chosen model."""
    rows = []
    for model, frame in oos.items():
        parts = frame.assign(dataset=frame["group"].str.split("|").str[0],
                             strategy=frame["group"].str.split("|").str[1])
        cells = [("ALL", "ALL", parts)] + [(d, "ALL", g) for d, g in parts.groupby("dataset", sort=False)]
        if model == chosen:
            cells += [(d, s, g) for (d, s), g in parts.groupby(["dataset", "strategy"], sort=False)]
        rows += [{"model": model, "dataset": d, "strategy": s, **oos_metrics(g)} for d, s, g in cells]
    return pd.DataFrame(rows).set_index(["model", "dataset", "strategy"])


def flat_metrics(table: pd.DataFrame, chosen: str) -> dict[str, float]:
    """MLflow metrics: the chosen model overall (``auc``...) and per dataset (``auc_GOOG``...);
    baselines as ``<baseline>_<metric>`` and ``auc_lift_<baseline>``. Per dataset x strategy rows
    are in the ``oos_summary`` artifact only."""
    out: dict[str, float] = {}
    mine = table.loc[chosen]
    out.update({k: float(v) for k, v in mine.loc[("ALL", "ALL")].items()})
    for dataset in mine.index.get_level_values("dataset").unique().drop("ALL", errors="ignore"):
        out.update({f"{k}_{dataset}": float(mine.loc[(dataset, "ALL"), k]) for k in SUMMARY_METRICS})
    out["auc_lift_take_all"] = 0.0  # overwritten below unless take-all itself was trained
    for baseline in table.index.get_level_values("model").unique():
        if baseline == chosen:
            continue
        row = table.loc[(baseline, "ALL", "ALL")]
        out.update({f"{baseline}_{k}": float(row[k]) for k in BASELINE_METRICS})
        out[f"auc_lift_{baseline}"] = out["auc"] - float(row["auc"])
    return out


def _ranges(bars: dict[str, pd.DataFrame]) -> dict[str, list[str]]:
    return {s: [str(b.index[0]), str(b.index[-1])] for s, b in bars.items()}


def _log_summary(model: str, table: pd.DataFrame) -> None:
    overall = table.xs(("ALL", "ALL"), level=("dataset", "strategy"))
    m = overall.loc[model]
    get_run_logger().info("%s out-of-sample: AUC %.4f (%s), ECE %.4f, kept %.1f%%, win rate %.3f -> %.3f", model,
                          m["auc"], ", ".join(f"{b} {overall.loc[b, 'auc']:.4f}" for b in overall.index if b != model),
                          m["ece"], 100 * m["kept_frac"], m["win_all"], m["win_kept"])


def _log_run(ms: ModelSettings, protocol: Protocol, bars: dict[str, pd.DataFrame], pooled: PooledSets, scorer: Any,
             metrics: dict[str, float], digest: str, timeframe: str) -> None:
    """Params, metrics, lineage tags and dataset inputs of the active MLflow run."""
    mlflow.log_params({
        "model": ms.model, "symbols": ",".join(bars), "timeframe": timeframe, "strategies": ",".join(ms.strategies),
        "param_grids": json.dumps(ms.param_grids), "pt_mult": ms.pt_mult, "sl_mult": ms.sl_mult,
        "max_holding": ms.max_holding, "vol_span": ms.vol_span, "use_shared_features": ms.use_shared_features,
        **asdict(protocol), "feature_config_hash": ms.feature_config().config_hash(),
        "n_features": pooled.X.shape[1], "n_signals": len(pooled.X), "threshold": float(scorer.threshold_),
        **{f"model__{k}": v for k, v in scorer.get_params().items()}})
    mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
    mlflow.set_tags({"data_digest": digest, "code_version": registry.code_version(), "task": "signal_quality",
                     "settings": settings_key(ms, protocol), "model_settings": ms.to_json(),
                     "protocol": protocol.to_json(), "data_ranges": json.dumps(_ranges(bars))})
    registry.log_training_data(bars)


def reference_sample(pooled: PooledSets, max_rows: int = REFERENCE_MAX_ROWS, seed: int = 0) -> pd.DataFrame:
    """The drift reference: the resolved signals' feature rows (the rows the final scorer is fitted on),
    only the model's feature columns, at most ``max_rows`` of them (seeded random sample, time order kept)."""
    X = pooled.X.loc[pooled.labels["label"].notna().to_numpy()]
    if len(X) > max_rows:
        keep = np.sort(np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False))
        X = X.iloc[keep]
    return X.reset_index(drop=True).astype("float64")


def _log_reference(pooled: PooledSets) -> None:
    """Log :func:`reference_sample` as the run artifact :data:`REFERENCE_ARTIFACT`."""
    folder, name = REFERENCE_ARTIFACT.rsplit("/", 1)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        reference_sample(pooled).to_parquet(path, index=False)
        mlflow.log_artifact(str(path), artifact_path=folder)


def _markdown(model: str, protocol: Protocol, run_id: str, scorer: Any, table: pd.DataFrame,
              counts: dict[str, int]) -> str:
    return (f"# Signal quality, out of sample (purged walk-forward, {protocol.n_splits} folds)\n\n"
            f"Trained: **{model}**; MLflow run `{run_id}`; threshold {scorer.threshold_:.4f}\n\n"
            + table[list(SUMMARY_METRICS)].round(4).to_markdown()
            + "\n\nSignals per set (after warm-up): " + ", ".join(f"{k} {n}" for k, n in counts.items()))


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


def _log_artifacts(table: pd.DataFrame, ev: dict[str, pd.DataFrame], importance: pd.Series | None,
                   pngs: dict[str, bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        table.round(6).to_csv(root / "oos_summary.csv")
        (root / "oos_summary.md").write_text(table.round(4).to_markdown())
        ev["sweep"].round(6).to_csv(root / "threshold_sweep.csv", index=False)
        (root / "threshold_sweep.md").write_text(ev["sweep"].round(4).to_markdown(index=False))
        ev["calibration"].round(6).to_csv(root / "calibration_deciles.csv", index=False)
        if importance is not None:
            importance.rename("gain_share").to_csv(root / "feature_importance.csv")
        for name, png in pngs.items():
            (root / name).write_bytes(png)
        mlflow.log_artifacts(str(root), artifact_path="evaluation")


def _settings(model: str, strategies: list[str] | None, param_grids: ParamGrids | None, pt_mult: float,
              sl_mult: float,
              max_holding: int, vol_span: int, use_shared_features: bool, n_estimators: int, max_depth: int,
              min_keep: float, calibration: str) -> ModelSettings:
    strategies = tuple(strategies or STRATEGIES)
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; choose from {sorted(STRATEGIES)}")
    grids = {s: list((param_grids or DEFAULT_PARAM_GRIDS).get(s) or [{}]) for s in strategies}
    make_scorer(model)  # validates the name early
    return ModelSettings(model, strategies, grids, pt_mult, sl_mult, max_holding, vol_span, use_shared_features,
                         {"n_estimators": n_estimators, "max_depth": max_depth, "min_keep": min_keep,
                          "calibration": calibration, "n_jobs": 2})


def settings_key(settings: ModelSettings, protocol: Protocol) -> str:
    """Identity of the training settings (tag ``settings``; with the data digest it decides
    whether an unforced pipeline has anything to retrain)."""
    return json.dumps({"model": json.loads(settings.to_json()), "protocol": json.loads(protocol.to_json())},
                      sort_keys=True)


# ------------------------------------------------------------------------------------------ flows


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
    settings = get_settings()
    symbols = list(symbols or DAILY_SAMPLES)
    ms = _settings(model, strategies, param_grids, pt_mult, sl_mult, max_holding, vol_span, use_shared_features,
                   n_estimators, max_depth, min_keep, calibration)
    protocol = Protocol(n_splits, min_train_fraction, embargo_pct)
    bars = load_series(settings.db_url, symbols, timeframe)
    pooled = build_sets(bars, ms)
    get_run_logger().info("%d signals from %d symbol x strategy sets (%d resolved)", len(pooled.X),
                          len(pooled.counts), int(pooled.labels["label"].notna().sum()))
    final = fit_final.submit(ms.model, ms.scorer_params, pooled)
    oos = evaluate_models(pooled, list(dict.fromkeys([ms.model, *BASELINES])), ms.scorer_params, protocol)
    table = summary_table(oos, ms.model)
    metrics = flat_metrics(table, ms.model)
    _log_summary(ms.model, table)
    scorer = final.result()
    evaluation = evaluate_oos(oos[ms.model])
    importance = scorer.gain_importance() if hasattr(scorer, "gain_importance") else None
    plots = render_plots.submit(oos[ms.model], evaluation["sweep"], importance)  # rendered while the run is logged
    digest = data_digest(bars)
    bundle = ScorerBundle(scorer, ms.feature_config(), list(pooled.X.columns), ms.param_grids, pooled.history,
                          {"model": ms.model, "timeframe": timeframe, "symbols": symbols,
                           "strategies": list(ms.strategies), "data_ranges": _ranges(bars)})
    registry.ensure_experiment(settings, EXPERIMENT)
    with mlflow.start_run(run_name=f"signal-quality-{ms.model}") as run:
        _log_run(ms, protocol, bars, pooled, scorer, metrics, digest, timeframe)
        _log_reference(pooled)
        info = registry.log_model(bundle, pooled.X.tail(5).reset_index(drop=True))
        _log_artifacts(table, evaluation, importance, plots.result())
    create_markdown_artifact(key="signal-quality-oos", markdown=_markdown(ms.model, protocol, run.info.run_id,
                                                                          scorer, table, pooled.counts),
                             description="Out-of-sample scorer vs baselines, per dataset and strategy")
    tags = {"model": ms.model, "data_digest": digest, "settings": settings_key(ms, protocol)}
    candidate = Candidate(info.model_uri, run.info.run_id, "auc", metrics["auc"], metrics, tags,
                          f"{ms.model} on {','.join(symbols)} x {','.join(ms.strategies)}")
    return TrainOutcome(candidate, ms.model, digest, protocol.to_json())


def _champion_score(champion, outcome: TrainOutcome, symbols: list[str], timeframe: str) -> float | None:
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
        min_auc: gate: out-of-sample AUC floor.
        max_ece: gate: out-of-sample expected calibration error ceiling.
        min_kept: gate: fraction of out-of-sample signals kept at the scorer's thresholds.
        min_auc_lift: gate: the AUC must exceed the take-every-signal baseline's on the same
            out-of-sample signals by more than this (a take-all model never passes: it filters nothing).
    """
    registry.configure(get_settings())
    symbols = list(symbols or DAILY_SAMPLES)
    champion = registry.alias_version(registry.SIGNAL_QUALITY_MODEL, registry.CHAMPION)
    m = outcome.candidate.metrics
    gates = {
        f"auc >= {min_auc}": bool(m.get("auc", float("nan")) >= min_auc),
        f"ece <= {max_ece}": bool(m.get("ece", float("nan")) <= max_ece),
        f"kept fraction >= {min_kept}": bool(m.get("kept_frac", float("nan")) >= min_kept),
        f"auc lift over take-all > {min_auc_lift}": bool(m.get("auc_lift_take_all", 0.0) > min_auc_lift),
    }
    return register_candidate(registry.SIGNAL_QUALITY_MODEL, outcome.candidate,
                              _champion_score(champion, outcome, symbols, timeframe), lower_is_better=False,
                              min_improvement=min_improvement, gates=gates)


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
    settings = get_settings()
    symbols = list(symbols or DAILY_SAMPLES)
    train = {"strategies": strategies, "model": model, "param_grids": param_grids, "pt_mult": pt_mult,
             "sl_mult": sl_mult, "max_holding": max_holding, "vol_span": vol_span,
             "use_shared_features": use_shared_features, "n_estimators": n_estimators, "max_depth": max_depth,
             "min_keep": min_keep, "calibration": calibration}
    validation = {"n_splits": n_splits, "min_train_fraction": min_train_fraction, "embargo_pct": embargo_pct}
    if not force and training_id is None:
        digest = data_digest(load_series(settings.db_url, symbols, timeframe))
        key = settings_key(_settings(**train), Protocol(**validation))
        current = up_to_date_champion(registry.SIGNAL_QUALITY_MODEL, digest, key)
        if current is not None:
            return current
    gates = {"min_improvement": min_improvement, "min_auc": min_auc, "max_ece": max_ece, "min_kept": min_kept,
             "min_auc_lift": min_auc_lift}

    def train_and_register() -> tuple[Candidate, RegisterOutcome]:
        train_flow = train_signal_quality.with_options(task_runner=task_runner(settings))
        outcome = train_flow(symbols, timeframe, **train, **validation)
        return outcome.candidate, register_signal_quality(outcome, symbols, timeframe, **gates)

    return recorded_training("SIGNAL_QUALITY", registry.SIGNAL_QUALITY_MODEL, {**train, **validation, **gates},
                             {"symbols": symbols, "timeframe": timeframe}, train_and_register, training_id, actor)


if __name__ == "__main__":
    print(signal_quality_pipeline())
