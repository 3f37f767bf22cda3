"""Model monitoring decisions (pure): live accuracy vs validation, drift, and the retraining cooldown.

The monitoring flow measures a champion model on its recent, resolved live predictions and
compares each metric with the same metric the model earned out of sample at registration (its
MLflow run). Two families of evidence can ask for a retrain:

* **accuracy decay** (late: outcomes resolve only after the horizon) — e.g. live QLIKE more than
  ``max_qlike_increase`` above validation QLIKE, interval coverage fallen by more than
  ``max_coverage_drop``, a scorer's AUC below ``min_auc``;
* **feature drift** (early) — see :mod:`ml.drift`.

A cooldown then decides whether the retrain may actually fire, so that a persisting problem does not
start a retrain storm. Cooldowns and the spacing of monitoring passes count **bars of data time**
(:func:`bar_cooldown_check`, :func:`pass_due`), so they mean the same in a market replay and live.
Every function returns its reasons as text, which the flows record.

Modules: :mod:`ml.monitoring.accuracy` (live metrics), :mod:`ml.monitoring.decisions` (checks, verdict),
:mod:`ml.monitoring.cooldown` (cooldown, backoff), :mod:`ml.monitoring.passes` (when passes fall due, as-of windows).
"""

from ml.monitoring.accuracy import (
    resolved,
    scorer_live_metrics,
    validation_value,
    volatility_accuracy,
    volatility_live_metrics,
)
from ml.monitoring.cooldown import (
    CooldownDecision,
    RetrainRecord,
    backoff_note,
    bar_cooldown_check,
    retrain_backoff,
)
from ml.monitoring.decisions import (
    INSUFFICIENT,
    OK,
    RETRAIN,
    Check,
    MonitoringDecision,
    Tolerances,
    decide,
    scorer_checks,
    volatility_checks,
)
from ml.monitoring.passes import (
    PassDecision,
    PassPoint,
    as_of_window,
    due_passes,
    newest_resolved_by,
    pass_due,
    resolution_times,
)

__all__ = [
    "INSUFFICIENT",
    "OK",
    "RETRAIN",
    "Check",
    "CooldownDecision",
    "MonitoringDecision",
    "PassDecision",
    "PassPoint",
    "RetrainRecord",
    "Tolerances",
    "as_of_window",
    "backoff_note",
    "bar_cooldown_check",
    "decide",
    "due_passes",
    "newest_resolved_by",
    "pass_due",
    "resolution_times",
    "resolved",
    "retrain_backoff",
    "scorer_checks",
    "scorer_live_metrics",
    "validation_value",
    "volatility_accuracy",
    "volatility_checks",
    "volatility_live_metrics",
]
