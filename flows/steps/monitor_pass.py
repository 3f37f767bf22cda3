"""One monitoring pass of :mod:`flows.monitor`: which passes are due (or the "no new data" outcome), the
window each judges, and recording it (table, MLflow, Prefect artifact; the retrain trigger when asked for)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact

import registry
from abtpro.settings import get_settings
from flows.steps.monitor import fire_trigger
from ml.drift import DriftReport
from ml.monitoring import MonitoringDecision, PassPoint, as_of_window, due_passes, pass_due
from ml.monitoring_report import clean, pass_markdown, pass_metrics
from store import monitoring as store

EXPERIMENT = "abtpro-monitoring"


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


def last_pass_end(url: str, name: str, version: str) -> tuple[bool, Any]:
    """Whether the version has a recorded pass, and that pass's ``window_end``."""
    last = store.last_pass(url, name, version)
    return last is not None, None if last is None else last["window_end"]


def due_or_skipped(name: str, version: str, frame: pd.DataFrame, origin: str, resolved: str,
                   bar_times: pd.DatetimeIndex, has_previous: bool, last_end: Any,
                   every_bars: int) -> tuple[list[PassPoint], MonitorOutcome | None]:
    """The passes due (:func:`ml.monitoring.due_passes`), or the "no new data" outcome when none is."""
    known = frame["resolved_at"] if not frame.empty else pd.Series(dtype="datetime64[ns]")
    points = due_passes(bar_times, frame[origin] if not frame.empty else [], known, last_end, has_previous,
                        every_bars)
    if points:
        return points, None
    newest = newest_resolved(frame, origin, resolved)
    newest = None if newest is None or pd.isna(newest) else pd.Timestamp(newest).to_pydatetime()
    end = None if last_end is None else pd.Timestamp(last_end)
    since = 0 if end is None or newest is None else int(((bar_times > end) & (bar_times <= newest)).sum())
    due = pass_due(newest, None if end is None else end.to_pydatetime(), has_previous, since, every_bars)
    reason = due.reason if not due.due else "no new data: no due pass"
    get_run_logger().info("%s v%s: %s", name, version, reason)
    return [], MonitorOutcome(name, version, None, "no_new_data", [reason])


def pass_view(frame: pd.DataFrame, origin: str, outcomes: list[str], point: PassPoint,
              bar_times: pd.DatetimeIndex, window: int) -> pd.DataFrame:
    """The window of one pass: as of its data time; the pass "now" (newest bar) sees the frame as stored."""
    now = bar_times.max() if len(bar_times) else pd.NaT
    as_of = None if pd.isna(point.as_of) or (pd.notna(now) and point.as_of >= now) else point.as_of
    return as_of_window(frame, origin, outcomes, as_of, window)


def newest_resolved(frame: pd.DataFrame, ts: str, resolved: str) -> Any:
    """Origin of the newest resolved row of a window (None when none resolved)."""
    done = frame.loc[frame[resolved].notna(), ts] if not frame.empty else pd.Series(dtype="datetime64[ns]")
    return None if done.empty else done.max()


def catch_up_note(k: int, points: list[PassPoint]) -> str | None:
    """The reason the ``k``-th pass of a catch-up records (which data time it judged), None for a single pass."""
    return None if len(points) == 1 else f"catch-up pass {k + 1} of {len(points)}: {points[k].reason}"


def record_pass(name: str, version: str, task_name: str, live: dict, validation: dict,
                decision: MonitoringDecision, drift: DriftReport, window: tuple[Any, Any], n_predictions: int,
                cooldown_bars: int, dispatch: str, series: tuple[list[str], str],
                drift_note: str | None = None) -> MonitorOutcome:
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


def stop_after(outcome: MonitorOutcome) -> bool:
    """A trigger fired for a direct retrain ends the catch-up: the retrain runs before the next window is judged
    (the next run judges what is left, against whichever version is champion then)."""
    return outcome.trigger_mode == "direct" and outcome.trigger_status == "fired"

