"""Reads and writes of monitoring: prediction outcomes, monitoring results and retrain-trigger records.

``model_performance`` is what ``GET /ml/models/performance`` shows: per model, the latest monitoring
results (live vs validation metrics, drift, decision) and the recent retrain triggers.

Predictions flagged ``caller_supplied`` (computed from bars a request carried, not the stored series) are
never live data: the outcome backfill (``unresolved_*``), live accuracy and drift (``*_window``) skip them.

Modules: :mod:`store.monitoring.series` (timeframes in minutes and bars, the series filter),
:mod:`store.monitoring.volatility` (volatility predictions), :mod:`store.monitoring.signals` (scored signals and
their outcomes), :mod:`store.monitoring.results` (monitoring results), :mod:`store.monitoring.data_time` (bars
between two data times, series ingested since), :mod:`store.monitoring.triggers` (retrain triggers),
:mod:`store.monitoring.performance` (:func:`model_performance`).
"""

from store.monitoring.data_time import bars_between, series_ingested_since
from store.monitoring.performance import model_performance
from store.monitoring.results import last_pass, monitoring_history, save_monitoring
from store.monitoring.series import horizon_bars, timeframe_minutes
from store.monitoring.signals import (
    PLAN_KEYS,
    save_signal_outcomes,
    signal_window,
    unresolved_signals,
)
from store.monitoring.triggers import (
    FIRED_STATUSES,
    champion_triggers,
    last_fired_data_ts,
    open_trigger,
    record_trigger,
    trigger_history,
    update_trigger,
)
from store.monitoring.volatility import (
    set_volatility_actuals,
    unresolved_volatility,
    volatility_window,
)

__all__ = [
    "FIRED_STATUSES",
    "PLAN_KEYS",
    "bars_between",
    "champion_triggers",
    "horizon_bars",
    "last_fired_data_ts",
    "last_pass",
    "model_performance",
    "monitoring_history",
    "open_trigger",
    "record_trigger",
    "save_monitoring",
    "save_signal_outcomes",
    "series_ingested_since",
    "set_volatility_actuals",
    "signal_window",
    "timeframe_minutes",
    "trigger_history",
    "unresolved_signals",
    "unresolved_volatility",
    "update_trigger",
    "volatility_window",
]
