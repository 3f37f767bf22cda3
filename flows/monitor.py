"""Monitoring flow: live accuracy and feature drift of every champion model; fires the retrain trigger.

For each registered model holding the ``champion`` alias, ``monitor-models``

1. takes its newest ``window`` live predictions (``VolatilityPrediction`` rows of that version; the
   outcome backfill fills ``actual``) and computes live metrics (:mod:`ml.monitoring`);
2. compares them with the version's own out-of-sample validation metrics, logged at registration
   in its MLflow run (``qlike_<symbol>``/``qlike_mean``, ``coverage_...``);
3. measures feature drift (:mod:`ml.drift`: PSI, KS, Wasserstein) of the features stored with the
   predictions against the training reference: for the volatility model, features recomputed (same
   ``ml.features`` code) on the training data range recorded in the run's ``data_ranges`` tag; for the
   signal scorer, the fitted feature rows its training run logged as the artifact
   ``reference/signal_features.parquet`` (a champion trained before that artifact existed gets drift
   "not available" recorded);
4. writes the result to the ``model_monitoring`` table, to MLflow (experiment ``abtpro-monitoring``,
   one run per model version, metrics with ``step`` = monitoring pass) and to a Prefect artifact;
5. when accuracy decayed beyond tolerance or the features drifted, records a ``RetrainTrigger``
   (or a suppressed one inside the cooldown) and fires it: with a Prefect server that has the
   ``retrain-model`` deployment it emits the ``abtpro.model.drift`` event, whose deployment trigger
   runs the retrain; without one (embedded default) it calls :func:`flows.retrain.retrain_model`.

``python -m flows.monitor`` runs it once.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from flows.common import IO_RETRIES, IO_RETRY_DELAY_SECONDS
from flows.retrain import DEPLOYMENT, DRIFT_EVENT
from flows.signal_quality import REFERENCE_ARTIFACT
from ml.drift import DriftReport, DriftThresholds, drift_report
from ml.features import VOL_ESTIMATORS, compute_features
from ml.monitoring import (
    MonitoringDecision,
    Tolerances,
    cooldown_check,
    decide,
    scorer_checks,
    scorer_live_metrics,
    volatility_checks,
    volatility_live_metrics,
)
from ml.volatility.targets import trailing_realised_vol
from store import bars as bar_store
from store import monitoring as store
from store.models import utcnow

EXPERIMENT = "abtpro-monitoring"
#: Inputs of the volatility models whose memory is short next to the live window: the log return and the
#: 1- and 5-bar realised-volatility estimators (the HAR/GARCH inputs). Long-window features (22/66-bar
#: vol, momentum, MACD, RSI) are so autocorrelated that a 250-bar live window holds only a few independent
#: draws of them: on a *stable* simulated GARCH series their PSI exceeded 1 in over 10% of windows
#: (rv_cc_22: 90% quantile 1.65), so they would fire the trigger on noise.
VOLATILITY_DRIFT_FEATURES = ["log_ret", *(f"rv_{est}_{w}" for w in (1, 5) for est in VOL_ESTIMATORS)]
#: Inputs of the signal scorer compared by default: its volatility context at the signal bar (``vol_pct``,
#: the rank of the EWM volatility in the last 252 bars; ``vol_ratio``, 10- over 50-span EWM volatility;
#: the shared ``f_log_ret`` and ``f_rv_cc_1``) and its volume profile (``volume_z``, ``volume_rel``).
#: All are scale-free or short-memory, so one reference pooled over symbols is comparable with any live
#: window, and none is side-adjusted or a strategy one-hot, so a live strategy mix unlike the pooled
#: training mix does not read as drift. Measured on the bundled SP500/NASDAQ/GOOG signals (250-signal
#: windows vs the pooled reference, default thresholds): a synthetic doubling of SP500's volatility
#: drifted 3 of 6 in the first 250 signals after it (vol_pct, f_log_ret, f_rv_cc_1); windows of one
#: strategy only crossed the 50% share in 10% of cases; windows in time order in 32% (they include the
#: 2000-02, 2008 and 2020 volatility regimes). Left out: level features (``vol``, ``f_rv_*_5/22/66``,
#: ``f_atr_14``, MACD) and the win-rate history block (``hist_*``), which drifted in 40-100% of those
#: windows, and the side/strategy-dependent factors. A set of only the scale-free inputs (vol_ratio,
#: volume_z, volume_rel, f_volume_z_22) fired in < 1% of windows but missed the volatility doubling.
SIGNAL_DRIFT_FEATURES = ["vol_pct", "vol_ratio", "f_log_ret", "f_rv_cc_1", "volume_z", "volume_rel"]


@dataclass(frozen=True)
class MonitorOutcome:
    """One model's monitoring pass: the decision and, if a retrain was asked for, what happened."""

    model: str
    version: str | None
    monitoring_id: int | None
    decision: str
    reasons: list[str] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    drift_share: float | None = None
    trigger_id: int | None = None
    trigger_status: str | None = None
    trigger_mode: str | None = None
    retrain: dict[str, Any] | None = None


def _clean(obj: Any) -> Any:
    """JSON-safe copy (NaN/inf -> None, numpy scalars -> Python)."""
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)),
                      parse_constant=lambda _: None)


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def champion_context(name: str) -> dict[str, Any] | None:
    """The champion version of ``name``, its validation metrics, training ranges and params (None if none)."""
    version = registry.alias_version(name, registry.CHAMPION)
    if version is None:
        return None
    run = mlflow.get_run(version.run_id)
    return {"version": str(version.version), "run_id": version.run_id, "validation": dict(run.data.metrics),
            "params": dict(run.data.params), "data_ranges": json.loads(run.data.tags.get("data_ranges", "{}"))}


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def volatility_live_frame(url: str, name: str, version: str, window: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The newest ``window`` predictions of the version with ``trailing`` vol at each origin, and their features.

    Features are the ones stored with the predictions; rows stored without features get them
    recomputed from the stored bars up to their origin (same ``ml.features`` code as training).
    """
    preds = store.volatility_window(url, name, version, last=window)
    preds["trailing"] = np.nan
    feats = []
    for (symbol, timeframe, minutes), group in preds.groupby(["symbol", "timeframe", "horizon"]):
        h = store.horizon_bars(int(minutes), timeframe)
        bars = bar_store.read_bars(url, symbol, timeframe)
        origins = pd.DatetimeIndex(group["as_of"])
        preds.loc[group.index, "trailing"] = trailing_realised_vol(bars, h).reindex(origins).to_numpy()
        stored = pd.DataFrame([f or {} for f in group["features"]], index=group.index)
        if stored.empty or stored.isna().all(axis=None):
            stored = compute_features(bars).reindex(origins).set_axis(group.index)
        feats.append(stored)
    features = pd.concat(feats) if feats else pd.DataFrame()
    return preds.drop(columns=["features"]), features.apply(pd.to_numeric, errors="coerce")


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def reference_features(url: str, data_ranges: dict[str, list[str]], timeframe: str) -> pd.DataFrame:
    """Features recomputed on the training data range of every symbol (the drift reference)."""
    frames = []
    for symbol, (start, end) in data_ranges.items():
        bars = bar_store.read_bars(url, symbol, timeframe, start=pd.Timestamp(start).to_pydatetime(),
                                   end=pd.Timestamp(end).to_pydatetime())
        if not bars.empty:
            frames.append(compute_features(bars))
    return pd.concat(frames) if frames else pd.DataFrame()


@task(retries=IO_RETRIES, retry_delay_seconds=IO_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def signal_reference_features(run_id: str) -> pd.DataFrame | None:
    """The scorer's drift reference logged by its training run (None when the run has no such artifact)."""
    folder = REFERENCE_ARTIFACT.rsplit("/", 1)[0]
    if REFERENCE_ARTIFACT not in {a.path for a in mlflow.MlflowClient().list_artifacts(run_id, folder)}:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=tmp)
        return pd.read_parquet(path)


def signal_live_features(frame: pd.DataFrame) -> pd.DataFrame:
    """The scorer's inputs stored with the scored signals (``features`` JSON of each row), as numbers."""
    if frame.empty:
        return pd.DataFrame()
    return pd.DataFrame([f or {} for f in frame["features"]], index=frame.index).apply(pd.to_numeric,
                                                                                       errors="coerce")


def _log_to_mlflow(settings, name: str, version: str, step: int, live: dict, drift: DriftReport,
                   decision: MonitoringDecision, drift_available: bool = True) -> str:
    """Log this pass into the version's monitoring run (created on first use); returns the run id."""
    experiment_id = registry.ensure_experiment(settings, EXPERIMENT)
    found = mlflow.search_runs([experiment_id], filter_string=f"tags.monitored_model = '{name}' and "
                                                             f"tags.monitored_version = '{version}'",
                               max_results=1, output_format="list")
    kwargs = {"run_id": found[0].info.run_id} if found else {"run_name": f"monitor-{name}-v{version}"}
    with mlflow.start_run(**kwargs) as run:
        if not found:
            mlflow.set_tags({"monitored_model": name, "monitored_version": version, "task": "monitoring"})
        metrics = {f"live_{k}": float(v) for k, v in live.items() if v is not None and np.isfinite(v)}
        if drift_available:
            metrics["drift_share"] = float(drift.share_drifted)
        metrics["retrain_needed"] = float(decision.retrain)
        for check in decision.checks:
            if check.live is not None and check.validation:
                metrics[f"ratio_{check.name}"] = float(check.live / check.validation)
        mlflow.log_metrics(metrics, step=step)
    mlflow.MlflowClient().set_model_version_tag(name, version, "last_monitoring",
                                                f"{utcnow():%Y-%m-%d %H:%M} {decision.status}")
    return run.info.run_id


def _artifact(name: str, version: str, live: dict, validation: dict, decision: MonitoringDecision,
              drift: DriftReport, trigger: str, drift_note: str | None = None) -> None:
    rows = "\n".join(f"| {c.name} | {c.live:.4g} | {c.validation:.4g} | {c.limit:.4g} | {'ok' if c.passed else 'FAIL'} |"
                     for c in decision.checks if c.live is not None and c.validation is not None)
    metrics = ", ".join(f"{k}={v:.4g}" for k, v in live.items() if isinstance(v, float) and np.isfinite(v))
    top = drift.to_frame().sort_values("psi", ascending=False).head(10) if drift.features else pd.DataFrame()
    md = (f"# Monitoring of {name} v{version}\n\n**Decision: {decision.status}** — {trigger}\n\n"
          + "\n".join(f"- {r}" for r in decision.reasons)
          + f"\n\nLive metrics: {metrics}\n\n| check | live | validation | limit | |\n|---|---|---|---|---|\n{rows}\n\n"
          + (f"## Feature drift: not available\n\n{drift_note}" if drift_note else
             f"## Feature drift: {drift.share_drifted:.0%} of {len(drift.features)} features\n\n"
             + (top.round(4).to_markdown() if not top.empty else "no drift sample")))
    create_markdown_artifact(key=f"monitoring-{name}", markdown=md, description=f"{name} v{version}: {decision.status}")


def _server_has_retrain_deployment() -> bool:
    """True when a Prefect server (not the embedded ephemeral one) knows the ``retrain-model`` deployment."""
    import httpx
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return False
    try:
        with get_client(sync_client=True) as client:
            client.read_deployment_by_name(f"{DEPLOYMENT}/{DEPLOYMENT}")
        return True
    except (ObjectNotFound, httpx.HTTPError, OSError, RuntimeError):  # not deployed, or no reachable server
        return False


@task(cache_policy=NO_CACHE)
def fire_trigger(url: str, name: str, version: str, monitoring_id: int, reasons: list[str],
                 cooldown_hours: float, dispatch: str) -> dict[str, Any]:
    """Record the retrain trigger (or its suppression by the cooldown) and fire it.

    ``dispatch``: ``auto`` (event when a server has the retrain deployment, else direct), ``event``,
    ``direct`` (run the retrain flow here) or ``record`` (only record it).
    """
    now = utcnow()
    cooldown = cooldown_check(store.last_fired_at(url, name), now, timedelta(hours=cooldown_hours))
    if not cooldown.allowed:
        trigger_id = store.record_trigger(url, model_name=name, model_version=version, monitoring_id=monitoring_id,
                                          reasons=[*reasons, cooldown.reason], status="suppressed", mode="none",
                                          cooldown_until=cooldown.next_allowed_at)
        return {"trigger_id": trigger_id, "status": "suppressed", "mode": "none"}
    mode = dispatch if dispatch != "auto" else ("event" if _server_has_retrain_deployment() else "direct")
    trigger_id = store.record_trigger(url, model_name=name, model_version=version, monitoring_id=monitoring_id,
                                      reasons=reasons, status="fired", mode=mode,
                                      cooldown_until=now + timedelta(hours=cooldown_hours))
    out: dict[str, Any] = {"trigger_id": trigger_id, "status": "fired", "mode": mode}
    if mode == "event":
        from prefect.events import emit_event

        event = emit_event(event=DRIFT_EVENT, resource={"prefect.resource.id": f"abtpro.model.{name}",
                                                        "prefect.resource.name": name},
                           payload={"trigger_id": trigger_id, "model_version": version,
                                    "monitoring_id": monitoring_id, "reasons": reasons})
        store.update_trigger(url, trigger_id, event_id=str(event.id) if event else None)
    return out


def _record(name: str, version: str, task_name: str, live: dict, validation: dict, decision: MonitoringDecision,
            drift: DriftReport, window: tuple[Any, Any], n_predictions: int, cooldown_hours: float,
            dispatch: str, drift_note: str | None = None) -> MonitorOutcome:
    """Store one monitoring pass (table, MLflow, Prefect artifact) and fire the trigger when asked for.

    ``drift_note`` says why drift could not be measured (the drift JSON then holds ``available: false``
    and the note, and no ``drift_share`` metric is logged)."""
    settings = get_settings()
    url = settings.db_url
    step = len(store.monitoring_history(url, name, limit=100_000))
    run_id = _log_to_mlflow(settings, name, version, step, live, drift, decision, drift_note is None)
    drift_json = _clean(drift.to_dict())
    if drift_note is not None:
        drift_json = {**drift_json, "available": False, "note": drift_note}
    monitoring_id = store.save_monitoring(
        url, model_name=name, model_version=version, task=task_name,
        window_start=None if window[0] is None else pd.Timestamp(window[0]).to_pydatetime(),
        window_end=None if window[1] is None else pd.Timestamp(window[1]).to_pydatetime(),
        n_predictions=n_predictions, n_resolved=int(live.get("n", 0)), metrics=_clean(live),
        validation=_clean(validation), drift=drift_json, decision=decision.status,
        reasons=list(decision.reasons), mlflow_run_id=run_id)
    outcome = MonitorOutcome(name, version, monitoring_id, decision.status, list(decision.reasons), _clean(live),
                             drift.share_drifted if drift.features else None)
    note = "no retrain needed"
    if decision.retrain and dispatch != "none":
        fired = fire_trigger(url, name, version, monitoring_id, list(decision.reasons), cooldown_hours, dispatch)
        outcome = MonitorOutcome(**{**asdict(outcome), "trigger_id": fired["trigger_id"],
                                    "trigger_status": fired["status"], "trigger_mode": fired["mode"]})
        note = f"retrain trigger {fired['trigger_id']} {fired['status']} ({fired['mode']})"
    _artifact(name, version, live, validation, decision, drift, note, drift_note)
    get_run_logger().info("%s v%s: %s; %s", name, version, decision.status, "; ".join(decision.reasons))
    return outcome


def monitor_volatility(name: str, window: int, tolerances: Tolerances, thresholds: DriftThresholds,
                       drift_features: list[str], cooldown_hours: float, dispatch: str) -> MonitorOutcome:
    """One monitoring pass over the volatility champion (see the module docstring)."""
    url = get_settings().db_url
    ctx = champion_context(name)
    if ctx is None:
        return MonitorOutcome(name, None, None, "no_champion", ["no version holds the champion alias"])
    version, timeframe = ctx["version"], ctx["params"].get("timeframe", "1d")
    preds, live_features = volatility_live_frame(url, name, version, window)
    live = volatility_live_metrics(preds) if not preds.empty else {"n": 0.0}
    symbols = sorted(preds["symbol"].unique()) if not preds.empty else []
    checks = volatility_checks(live, ctx["validation"], tolerances, symbols)
    reference = reference_features(url, ctx["data_ranges"], timeframe) if not live_features.empty else pd.DataFrame()
    features = [c for c in drift_features if c in reference.columns and c in live_features]
    drift = drift_report(reference, live_features, features, thresholds) if features else DriftReport()
    decision = decide(checks, int(live.get("n", 0)), drift, tolerances)
    validation = {k: v for k, v in ctx["validation"].items()
                  if k.split("_")[0] in ("qlike", "mae", "rmse", "dir", "coverage")}
    bounds = (preds["as_of"].min(), preds["as_of"].max()) if not preds.empty else (None, None)
    return _record(name, version, "volatility", live, validation, decision, drift, bounds, len(preds),
                   cooldown_hours, dispatch)


def monitor_signal_quality(name: str, window: int, tolerances: Tolerances, cooldown_hours: float,
                           dispatch: str, thresholds: DriftThresholds | None = None,
                           drift_features: list[str] | None = None) -> MonitorOutcome:
    """One monitoring pass over the signal-scorer champion.

    Accuracy: AUC floor and Brier score vs validation on the resolved outcomes (triple-barrier, filled
    by the backfill) of its newest ``window`` scored signals, and the win rate of signals users took vs
    rejected. Drift: the inputs stored with those signals (``MLSignalScore.features``, resolved or not)
    against the feature rows the champion was fitted on (run artifact ``reference/signal_features.parquet``),
    over ``drift_features`` (default :data:`SIGNAL_DRIFT_FEATURES`, chosen there) with the same
    thresholds as the volatility pass. A champion whose run has no reference artifact (trained before
    it was logged) gets drift "not available" recorded and is judged on accuracy alone.
    """
    url = get_settings().db_url
    ctx = champion_context(name)
    if ctx is None:
        return MonitorOutcome(name, None, None, "no_champion", ["no version holds the champion alias"])
    frame = store.signal_window(url, name, ctx["version"], last=window)
    live = scorer_live_metrics(frame) if not frame.empty else {"n": 0.0}
    checks = scorer_checks(live, ctx["validation"], tolerances)
    reference = signal_reference_features(ctx["run_id"])
    drift, drift_note = DriftReport(), None
    if reference is None:
        drift_note = (f"feature drift not available: run {ctx['run_id']} of v{ctx['version']} has no "
                      f"{REFERENCE_ARTIFACT} (trained before drift references were logged)")
    else:
        live_features = signal_live_features(frame)
        features = [c for c in (drift_features or SIGNAL_DRIFT_FEATURES)
                    if c in reference.columns and c in live_features.columns]
        if features:
            drift = drift_report(reference, live_features, features, thresholds or DriftThresholds())
    decision = decide(checks, int(live.get("n", 0)), drift if drift_note is None else None, tolerances)
    if drift_note is not None:
        decision = MonitoringDecision(decision.status, decision.retrain, [*decision.reasons, drift_note],
                                      list(decision.checks))
    validation = {k: v for k, v in ctx["validation"].items()
                  if k.split("_")[0] in ("auc", "brier", "precision", "recall", "ece", "base")}
    bounds = (frame["signal_ts"].min(), frame["signal_ts"].max()) if not frame.empty else (None, None)
    return _record(name, ctx["version"], "signal_quality", live, validation, decision, drift, bounds,
                   len(frame), cooldown_hours, dispatch, drift_note)


@flow(name="monitor-models", log_prints=True)
def monitor_models(models: list[str] | None = None, window: int = 250, max_qlike_increase: float = 0.2,
                   max_coverage_drop: float = 0.15, min_auc: float = 0.55, min_resolved: int = 50,
                   psi_threshold: float = 0.25, ks_alpha: float = 0.01, drift_share: float = 0.5,
                   drift_features: list[str] | None = None, signal_drift_features: list[str] | None = None,
                   cooldown_hours: float = 24.0, dispatch: str = "auto") -> list[MonitorOutcome]:
    """Monitor each champion model; fire the retraining trigger where accuracy decayed or inputs drifted.

    Args:
        models: registered model names (default: the volatility predictor and the signal scorer).
        window: newest live predictions per model to judge.
        max_qlike_increase: tolerated relative QLIKE increase over validation (0.2 = +20%).
        max_coverage_drop: tolerated absolute drop of interval coverage below validation.
        min_auc: AUC floor of a signal scorer.
        min_resolved: fewest resolved outcomes to judge accuracy.
        psi_threshold, ks_alpha: per-feature drift thresholds; drift_share: share of drifted features
            that counts as drift of the model's inputs.
        drift_features: feature columns of the volatility model compared (default: ``VOLATILITY_DRIFT_FEATURES``).
        signal_drift_features: input columns of the signal scorer compared (default: ``SIGNAL_DRIFT_FEATURES``).
        cooldown_hours: no second retrain of a model within this time after one fired.
        dispatch: ``auto`` | ``event`` | ``direct`` | ``record`` | ``none`` (see :func:`fire_trigger`).
    """
    settings = get_settings()
    registry.configure(settings)
    tolerances = Tolerances(max_qlike_increase=max_qlike_increase, max_coverage_drop=max_coverage_drop,
                            min_auc=min_auc, min_resolved=min_resolved)
    thresholds = DriftThresholds(psi_threshold=psi_threshold, ks_alpha=ks_alpha, share_threshold=drift_share)
    outcomes = []
    for name in models or [registry.VOLATILITY_MODEL, registry.SIGNAL_QUALITY_MODEL]:
        if name == registry.VOLATILITY_MODEL:
            outcome = monitor_volatility(name, window, tolerances, thresholds,
                                         list(drift_features or VOLATILITY_DRIFT_FEATURES), cooldown_hours, dispatch)
        elif name == registry.SIGNAL_QUALITY_MODEL:
            outcome = monitor_signal_quality(name, window, tolerances, cooldown_hours, dispatch, thresholds,
                                             list(signal_drift_features or SIGNAL_DRIFT_FEATURES))
        else:
            outcome = MonitorOutcome(name, None, None, "not_monitored", [f"no monitoring recipe for {name}"])
        if outcome.trigger_mode == "direct" and outcome.trigger_status == "fired":
            from flows.retrain import retrain_model

            result = retrain_model(model=name, trigger_id=outcome.trigger_id)
            outcome = MonitorOutcome(**{**asdict(outcome), "retrain": _clean(asdict(result))})
        outcomes.append(outcome)
    return outcomes


if __name__ == "__main__":
    import sys

    if "--serve" in sys.argv[1:]:  # the monitoring chain's deployments (flows.deployments)
        from flows.deployments import MONITORING_CHAIN, serve

        serve(*MONITORING_CHAIN)
    else:
        for item in monitor_models():
            print(item)
