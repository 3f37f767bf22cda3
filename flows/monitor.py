"""Monitoring flow: live accuracy and feature drift of every champion model; fires the retrain trigger.

For each registered model holding the ``champion`` alias, ``monitor-models``

1. takes its newest ``window`` live predictions (``VolatilityPrediction`` rows of that version; the
   outcome backfill fills ``actual``); a pass is due only when the newest resolved outcome advanced by
   ``every_bars`` bars of data time since the version's last pass (``model_monitoring.window_end``),
   otherwise the flow logs "no new data" and records nothing (:func:`ml.monitoring.pass_due`). A run that
   comes late **catches up**: it records every pass that fell due since the last one, each judged as of the
   bar at which it fell due (the predictions made by then, the outcomes known by then:
   :func:`ml.monitoring.due_passes`, :func:`ml.monitoring.as_of_window`), so the passes do not depend on how
   often the loop ran (after every arrival, or once per replayed month). It then computes live metrics
   (:mod:`ml.monitoring`) per pass;
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
5. when accuracy decayed beyond tolerance or the features drifted, records a ``RetrainTrigger`` with the
   window's newest bar as ``data_ts`` (or a suppressed one while fewer than ``cooldown_bars`` bars of data
   time lie since the last fired one) and fires it: with a Prefect server that has the
   ``retrain-model`` deployment it emits the ``abtpro.model.drift`` event, whose deployment trigger
   runs the retrain; without one (embedded default) it calls :func:`flows.retrain.retrain_model`.

``python -m flows.monitor`` runs it once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

import registry
from abtpro.settings import get_settings
from flows.steps.monitor import (
    champion_context,
    fire_trigger,
    reference_features,
    signal_live_features,
    signal_live_frame,
    signal_reference_features,
    volatility_live_frame,
)
from flows.steps.signal_quality import REFERENCE_ARTIFACT
from ml.drift import DriftReport, DriftThresholds
from ml.monitoring import (
    MonitoringDecision,
    PassPoint,
    Tolerances,
    as_of_window,
    decide,
    due_passes,
    pass_due,
    scorer_checks,
    scorer_live_metrics,
    volatility_checks,
    volatility_live_metrics,
)
from ml.monitoring_report import (
    SCORER_VALIDATION,
    SIGNAL_DRIFT_FEATURES,
    VOLATILITY_DRIFT_FEATURES,
    VOLATILITY_VALIDATION,
    clean,
    measure_drift,
    pass_markdown,
    pass_metrics,
    validation_subset,
    with_note,
)
from store import monitoring as store

__all__ = ["EXPERIMENT", "SIGNAL_DRIFT_FEATURES", "VOLATILITY_DRIFT_FEATURES", "MonitorOutcome", "monitor_models"]

EXPERIMENT = "abtpro-monitoring"
_clean = clean  # older name


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


def _record(name: str, version: str, task_name: str, live: dict, validation: dict, decision: MonitoringDecision,
            drift: DriftReport, window: tuple[Any, Any], n_predictions: int, cooldown_bars: int,
            dispatch: str, series: tuple[list[str], str], drift_note: str | None = None) -> MonitorOutcome:
    """Store one monitoring pass (table, MLflow, Prefect artifact) and fire the trigger when asked for.

    ``drift_note`` says why drift could not be measured (the drift JSON then holds ``available: false``
    and the note, and no ``drift_share`` metric is logged). ``window`` is (oldest origin, newest resolved
    outcome's origin: recorded as ``window_end``, what :func:`pass_due` compares, newest origin: the
    trigger's ``data_ts``); ``series`` the (symbols, timeframe) whose bars count for the cooldown."""
    settings = get_settings()
    url = settings.db_url
    step = len(store.monitoring_history(url, name, limit=100_000))
    run_id = registry.log_monitoring_pass(settings, EXPERIMENT, name, version, step,
                                          pass_metrics(live, drift, decision, drift_note is None), decision.status)
    drift_json = clean(drift.to_dict())
    if drift_note is not None:
        drift_json = {**drift_json, "available": False, "note": drift_note}
    monitoring_id = store.save_monitoring(
        url, model_name=name, model_version=version, task=task_name,
        window_start=None if window[0] is None else pd.Timestamp(window[0]).to_pydatetime(),
        window_end=None if window[1] is None else pd.Timestamp(window[1]).to_pydatetime(),
        n_predictions=n_predictions, n_resolved=int(live.get("n", 0)), metrics=clean(live),
        validation=clean(validation), drift=drift_json, decision=decision.status,
        reasons=list(decision.reasons), mlflow_run_id=run_id)
    outcome = MonitorOutcome(name, version, monitoring_id, decision.status, list(decision.reasons), clean(live),
                             drift.share_drifted if drift.features else None)
    note = "no retrain needed"
    if decision.retrain and dispatch != "none":
        fired = fire_trigger(url, name, version, monitoring_id, list(decision.reasons), cooldown_bars, dispatch,
                             window[2], series[0], series[1])
        outcome = MonitorOutcome(**{**asdict(outcome), "trigger_id": fired["trigger_id"],
                                    "trigger_status": fired["status"], "trigger_mode": fired["mode"]})
        note = f"retrain trigger {fired['trigger_id']} {fired['status']} ({fired['mode']})"
    create_markdown_artifact(key=f"monitoring-{name}", markdown=pass_markdown(
        name, version, live, decision, drift, note, drift_note), description=f"{name} v{version}: {decision.status}")
    get_run_logger().info("%s v%s: %s; %s", name, version, decision.status, "; ".join(decision.reasons))
    return outcome


def _last_end(url: str, name: str, version: str) -> tuple[bool, Any]:
    """Whether the version has a recorded pass, and that pass's ``window_end``."""
    last = store.last_pass(url, name, version)
    return last is not None, None if last is None else last["window_end"]


def _passes(name: str, version: str, frame: pd.DataFrame, origin: str, resolved: str, bar_times: pd.DatetimeIndex,
            has_previous: bool, last_end: Any, every_bars: int) -> tuple[list[PassPoint], MonitorOutcome | None]:
    """The passes due (:func:`ml.monitoring.due_passes`), or the "no new data" outcome when none is."""
    known = frame["resolved_at"] if not frame.empty else pd.Series(dtype="datetime64[ns]")
    points = due_passes(bar_times, frame[origin] if not frame.empty else [], known, last_end, has_previous,
                        every_bars)
    if points:
        return points, None
    newest = _newest(frame, origin, resolved)
    newest = None if newest is None or pd.isna(newest) else pd.Timestamp(newest).to_pydatetime()
    end = None if last_end is None else pd.Timestamp(last_end)
    since = 0 if end is None or newest is None else int(((bar_times > end) & (bar_times <= newest)).sum())
    due = pass_due(newest, None if end is None else end.to_pydatetime(), has_previous, since, every_bars)
    reason = due.reason if not due.due else "no new data: no due pass"
    get_run_logger().info("%s v%s: %s", name, version, reason)
    return [], MonitorOutcome(name, version, None, "no_new_data", [reason])


def _view(frame: pd.DataFrame, origin: str, outcomes: list[str], point: PassPoint, bar_times: pd.DatetimeIndex,
          window: int) -> pd.DataFrame:
    """The window of one pass: as of its data time; the pass "now" (newest bar) sees the frame as stored."""
    now = bar_times.max() if len(bar_times) else pd.NaT
    as_of = None if pd.isna(point.as_of) or (pd.notna(now) and point.as_of >= now) else point.as_of
    return as_of_window(frame, origin, outcomes, as_of, window)


def _newest(frame: pd.DataFrame, ts: str, resolved: str) -> Any:
    """Origin of the newest resolved row of a window (None when none resolved)."""
    done = frame.loc[frame[resolved].notna(), ts] if not frame.empty else pd.Series(dtype="datetime64[ns]")
    return None if done.empty else done.max()


def _stop_after(outcome: MonitorOutcome) -> bool:
    """A trigger fired for a direct retrain ends the catch-up: the retrain runs before the next window is judged
    (the next run judges what is left, against whichever version is champion then)."""
    return outcome.trigger_mode == "direct" and outcome.trigger_status == "fired"


def monitor_volatility(name: str, window: int, tolerances: Tolerances, thresholds: DriftThresholds,
                       drift_features: list[str], cooldown_bars: int, dispatch: str,
                       every_bars: int = 0) -> list[MonitorOutcome]:
    """The monitoring passes due over the volatility champion (see the module docstring), oldest first."""
    url = get_settings().db_url
    ctx = champion_context(name)
    if ctx is None:
        return [MonitorOutcome(name, None, None, "no_champion", ["no version holds the champion alias"])]
    version, timeframe = ctx["version"], ctx["params"].get("timeframe", "1d")
    has_previous, last_end = _last_end(url, name, version)
    since = last_end if has_previous and every_bars > 0 else None
    preds, live_features, bar_times = volatility_live_frame(url, name, version, window, since)
    symbols = sorted(preds["symbol"].unique()) if not preds.empty else []
    points, skipped = _passes(name, version, preds, "as_of", "actual", bar_times, has_previous, last_end, every_bars)
    if skipped is not None:
        return [skipped]
    validation = validation_subset(ctx["validation"], VOLATILITY_VALIDATION)
    reference: pd.DataFrame | None = None  # computed once per run, shared by its passes
    outcomes = []
    for k, point in enumerate(points):
        view = _view(preds, "as_of", ["actual"], point, bar_times, window)
        live = volatility_live_metrics(view) if not view.empty else {"n": 0.0}
        checks = volatility_checks(live, ctx["validation"], tolerances, symbols)
        features = live_features.loc[live_features.index.intersection(view.index)] if not view.empty \
            else pd.DataFrame()
        if reference is None and not features.empty:
            reference = reference_features(url, ctx["data_ranges"], timeframe)
        drift = measure_drift(reference if reference is not None and not features.empty else pd.DataFrame(),
                              features, drift_features, thresholds)
        decision = with_note(decide(checks, int(live.get("n", 0)), drift, tolerances), _catch_up_note(k, points))
        newest = _newest(view, "as_of", "actual")
        bounds = (view["as_of"].min(), newest, view["as_of"].max()) if not view.empty else (None, None, None)
        outcomes.append(_record(name, version, "volatility", live, validation, decision, drift, bounds, len(view),
                                cooldown_bars, dispatch, (symbols, timeframe)))
        if _stop_after(outcomes[-1]):
            break
    return outcomes


def _catch_up_note(k: int, points: list[PassPoint]) -> str | None:
    """The reason the ``k``-th pass of a catch-up records (which data time it judged), None for a single pass."""
    return None if len(points) == 1 else f"catch-up pass {k + 1} of {len(points)}: {points[k].reason}"


def monitor_signal_quality(name: str, window: int, tolerances: Tolerances, cooldown_bars: int,
                           dispatch: str, thresholds: DriftThresholds | None = None,
                           drift_features: list[str] | None = None, every_bars: int = 0) -> list[MonitorOutcome]:
    """The monitoring passes due over the signal-scorer champion, oldest first.

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
        return [MonitorOutcome(name, None, None, "no_champion", ["no version holds the champion alias"])]
    version = ctx["version"]
    has_previous, last_end = _last_end(url, name, version)
    since = last_end if has_previous and every_bars > 0 else None
    frame, bar_times = signal_live_frame(url, name, version, window, since)
    symbols = sorted(frame["symbol"].unique()) if not frame.empty else []
    timeframe = str(frame["timeframe"].mode().iloc[0]) if not frame.empty else "1d"
    points, skipped = _passes(name, version, frame, "signal_ts", "outcome", bar_times, has_previous, last_end,
                              every_bars)
    if skipped is not None:
        return [skipped]
    reference = signal_reference_features(ctx["run_id"])  # once per run, shared by its passes
    drift_note = None if reference is not None else (
        f"feature drift not available: run {ctx['run_id']} of v{version} has no "
        f"{REFERENCE_ARTIFACT} (trained before drift references were logged)")
    validation = validation_subset(ctx["validation"], SCORER_VALIDATION)
    outcomes = []
    for k, point in enumerate(points):
        view = _view(frame, "signal_ts", ["outcome", "realised_return"], point, bar_times, window)
        live = scorer_live_metrics(view) if not view.empty else {"n": 0.0}
        checks = scorer_checks(live, ctx["validation"], tolerances)
        drift = DriftReport()
        if reference is not None:
            drift = measure_drift(reference, signal_live_features(view), drift_features or SIGNAL_DRIFT_FEATURES,
                                  thresholds or DriftThresholds())
        decision = decide(checks, int(live.get("n", 0)), drift if drift_note is None else None, tolerances)
        decision = with_note(with_note(decision, drift_note), _catch_up_note(k, points))
        newest = _newest(view, "signal_ts", "outcome")
        bounds = ((view["signal_ts"].min(), newest, view["signal_ts"].max()) if not view.empty
                  else (None, None, None))
        outcomes.append(_record(name, version, "signal_quality", live, validation, decision, drift, bounds,
                                len(view), cooldown_bars, dispatch, (symbols, timeframe), drift_note))
        if _stop_after(outcomes[-1]):
            break
    return outcomes


@flow(name="monitor-models", log_prints=True)
def monitor_models(models: list[str] | None = None, window: int = 250, max_qlike_increase: float = 0.2,
                   max_coverage_drop: float = 0.15, min_auc: float = 0.55, min_resolved: int = 50,
                   psi_threshold: float = 0.25, ks_alpha: float = 0.01, drift_share: float = 0.5,
                   drift_features: list[str] | None = None, signal_drift_features: list[str] | None = None,
                   cooldown_bars: int = 20, every_bars: int = 5, dispatch: str = "auto") -> list[MonitorOutcome]:
    """Monitor each champion model; fire the retraining trigger where accuracy decayed or inputs drifted.

    Args:
        models: registered model names (default: the volatility predictor and the signal scorer).
        window: newest live predictions per model to judge.
        max_qlike_increase: tolerated relative QLIKE increase over validation (0.2 = +20%).
        max_coverage_drop: tolerated absolute drop of interval coverage below validation.
        min_auc: AUC floor of a signal scorer.
        min_resolved: fewest resolved outcomes (a count) to judge accuracy.
        psi_threshold, ks_alpha: per-feature drift thresholds; drift_share: share of drifted features
            that counts as drift of the model's inputs.
        drift_features: feature columns of the volatility model compared (default: ``VOLATILITY_DRIFT_FEATURES``).
        signal_drift_features: input columns of the signal scorer compared (default: ``SIGNAL_DRIFT_FEATURES``).
        cooldown_bars: bars of data time (stored bars of the window's series) that must lie between the
            window judged by the last fired retrain trigger and a new one; a trigger inside it is recorded
            as ``suppressed``.
        every_bars: bars of data time the newest resolved outcome must advance before a model version gets
            a new pass (5: a pass per week of daily bars); otherwise "no new data" is logged and nothing
            recorded. A run records every pass due since the last one (catch-up), each as of its own bar.
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
            passes = monitor_volatility(name, window, tolerances, thresholds,
                                        list(drift_features or VOLATILITY_DRIFT_FEATURES), cooldown_bars, dispatch,
                                        every_bars)
        elif name == registry.SIGNAL_QUALITY_MODEL:
            passes = monitor_signal_quality(name, window, tolerances, cooldown_bars, dispatch, thresholds,
                                            list(signal_drift_features or SIGNAL_DRIFT_FEATURES), every_bars)
        else:
            passes = [MonitorOutcome(name, None, None, "not_monitored", [f"no monitoring recipe for {name}"])]
        for outcome in passes:
            if _stop_after(outcome):
                from flows.retrain import retrain_model

                result = retrain_model(model=name, trigger_id=outcome.trigger_id)
                outcome = MonitorOutcome(**{**asdict(outcome), "retrain": clean(asdict(result))})
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
