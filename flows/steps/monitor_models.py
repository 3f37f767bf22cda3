"""The steps of the monitoring flow's loop over the champions (:func:`flows.monitor.monitor_models`): the passes
of one champion by its monitoring recipe, and the retrain run inline where a pass's trigger was dispatched
directly (:func:`flows.steps.monitor_pass.stop_after`)."""

from __future__ import annotations

from dataclasses import asdict

import registry
from flows.steps.monitor_champions import monitor_signal_quality, monitor_volatility
from flows.steps.monitor_pass import MonitorOutcome, stop_after
from ml.drift import DriftThresholds
from ml.monitoring import Tolerances
from ml.monitoring_report import SIGNAL_DRIFT_FEATURES, VOLATILITY_DRIFT_FEATURES, clean


def monitor_model(name: str, window: int, tolerances: Tolerances, thresholds: DriftThresholds,
                  drift_features: list[str] | None, signal_drift_features: list[str] | None, cooldown_bars: int,
                  dispatch: str, every_bars: int) -> list[MonitorOutcome]:
    """The passes of the champion of ``name`` (one ``not_monitored`` outcome for a model without a recipe)."""
    if name == registry.VOLATILITY_MODEL:
        passes = monitor_volatility(name, window, tolerances, thresholds,
                                    list(drift_features or VOLATILITY_DRIFT_FEATURES), cooldown_bars, dispatch,
                                    every_bars)
    elif name == registry.SIGNAL_QUALITY_MODEL:
        passes = monitor_signal_quality(name, window, tolerances, cooldown_bars, dispatch, thresholds,
                                        list(signal_drift_features or SIGNAL_DRIFT_FEATURES), every_bars)
    else:
        passes = [MonitorOutcome(name, None, None, "not_monitored", [f"no monitoring recipe for {name}"])]
    return passes


def retrain_where_asked(name: str, passes: list[MonitorOutcome]) -> list[MonitorOutcome]:
    """``passes``, each whose trigger asks for the retrain in this run (direct dispatch) with the retrain run
    (:func:`flows.retrain.retrain_model`) and its result."""
    outcomes = []
    for outcome in passes:
        if stop_after(outcome):
            from flows.retrain import retrain_model

            result = retrain_model(model=name, trigger_id=outcome.trigger_id)
            outcome = MonitorOutcome(**{**asdict(outcome), "retrain": clean(asdict(result))})
        outcomes.append(outcome)
    return outcomes
