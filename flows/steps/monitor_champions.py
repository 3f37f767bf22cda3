"""The monitoring passes of one champion (:mod:`flows.monitor`), the volatility model or the signal scorer:
live accuracy against its validation metrics, feature drift against its training reference."""

from __future__ import annotations

import pandas as pd

from abtpro.settings import get_settings
from flows.steps.monitor import (
    champion_context,
    reference_features,
    signal_live_features,
    signal_live_frame,
    signal_reference_features,
    volatility_live_frame,
)
from flows.steps.monitor_pass import (
    MonitorOutcome,
    catch_up_note,
    due_or_skipped,
    last_pass_end,
    newest_resolved,
    pass_view,
    record_pass,
    stop_after,
)
from flows.steps.signal_quality import REFERENCE_ARTIFACT
from ml.drift import DriftReport, DriftThresholds
from ml.monitoring import (
    Tolerances,
    decide,
    scorer_checks,
    scorer_live_metrics,
    volatility_checks,
    volatility_live_metrics,
)
from ml.monitoring_report import (
    SCORER_VALIDATION,
    SIGNAL_DRIFT_FEATURES,
    VOLATILITY_VALIDATION,
    measure_drift,
    validation_subset,
    with_note,
)


def monitor_volatility(name: str, window: int, tolerances: Tolerances, thresholds: DriftThresholds,
                       drift_features: list[str], cooldown_bars: int, dispatch: str,
                       every_bars: int = 0) -> list[MonitorOutcome]:
    """The monitoring passes due over the volatility champion (see :mod:`flows.monitor`), oldest first."""
    url = get_settings().db_url
    ctx = champion_context(name)
    if ctx is None:
        return [MonitorOutcome(name, None, None, "no_champion", ["no version holds the champion alias"])]
    version, timeframe = ctx["version"], ctx["params"].get("timeframe", "1d")
    has_previous, last_end = last_pass_end(url, name, version)
    since = last_end if has_previous and every_bars > 0 else None
    preds, live_features, bar_times = volatility_live_frame(url, name, version, window, since)
    symbols = sorted(preds["symbol"].unique()) if not preds.empty else []
    points, skipped = due_or_skipped(name, version, preds, "as_of", "actual", bar_times, has_previous, last_end,
                                     every_bars)
    if skipped is not None:
        return [skipped]
    validation = validation_subset(ctx["validation"], VOLATILITY_VALIDATION)
    reference: pd.DataFrame | None = None  # computed once per run, shared by its passes
    outcomes = []
    for k, point in enumerate(points):
        view = pass_view(preds, "as_of", ["actual"], point, bar_times, window)
        live = volatility_live_metrics(view) if not view.empty else {"n": 0.0}
        checks = volatility_checks(live, ctx["validation"], tolerances, symbols)
        features = live_features.loc[live_features.index.intersection(view.index)] if not view.empty \
            else pd.DataFrame()
        if reference is None and not features.empty:
            reference = reference_features(url, ctx["data_ranges"], timeframe)
        drift = measure_drift(reference if reference is not None and not features.empty else pd.DataFrame(),
                              features, drift_features, thresholds)
        decision = with_note(decide(checks, int(live.get("n", 0)), drift, tolerances), catch_up_note(k, points))
        newest = newest_resolved(view, "as_of", "actual")
        bounds = (view["as_of"].min(), newest, view["as_of"].max()) if not view.empty else (None, None, None)
        outcomes.append(record_pass(name, version, "volatility", live, validation, decision, drift, bounds,
                                    len(view), cooldown_bars, dispatch, (symbols, timeframe)))
        if stop_after(outcomes[-1]):
            break
    return outcomes


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
    has_previous, last_end = last_pass_end(url, name, version)
    since = last_end if has_previous and every_bars > 0 else None
    frame, bar_times = signal_live_frame(url, name, version, window, since)
    symbols = sorted(frame["symbol"].unique()) if not frame.empty else []
    timeframe = str(frame["timeframe"].mode().iloc[0]) if not frame.empty else "1d"
    points, skipped = due_or_skipped(name, version, frame, "signal_ts", "outcome", bar_times, has_previous,
                                     last_end, every_bars)
    if skipped is not None:
        return [skipped]
    reference = signal_reference_features(ctx["run_id"])  # once per run, shared by its passes
    drift_note = None if reference is not None else (
        f"feature drift not available: run {ctx['run_id']} of v{version} has no "
        f"{REFERENCE_ARTIFACT} (trained before drift references were logged)")
    validation = validation_subset(ctx["validation"], SCORER_VALIDATION)
    outcomes = []
    for k, point in enumerate(points):
        view = pass_view(frame, "signal_ts", ["outcome", "realised_return"], point, bar_times, window)
        live = scorer_live_metrics(view) if not view.empty else {"n": 0.0}
        checks = scorer_checks(live, ctx["validation"], tolerances)
        drift = DriftReport()
        if reference is not None:
            drift = measure_drift(reference, signal_live_features(view), drift_features or SIGNAL_DRIFT_FEATURES,
                                  thresholds or DriftThresholds())
        decision = decide(checks, int(live.get("n", 0)), drift if drift_note is None else None, tolerances)
        decision = with_note(with_note(decision, drift_note), catch_up_note(k, points))
        newest = newest_resolved(view, "signal_ts", "outcome")
        bounds = ((view["signal_ts"].min(), newest, view["signal_ts"].max()) if not view.empty
                  else (None, None, None))
        outcomes.append(record_pass(name, version, "signal_quality", live, validation, decision, drift, bounds,
                                    len(view), cooldown_bars, dispatch, (symbols, timeframe), drift_note))
        if stop_after(outcomes[-1]):
            break
    return outcomes

