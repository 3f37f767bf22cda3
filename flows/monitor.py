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

The flow is :func:`monitor_models`; its steps are :mod:`flows.steps.monitor_models` (the passes of one
champion, the retrain run inline), :mod:`flows.steps.monitor_champions` (the passes of each kind of champion),
:mod:`flows.steps.monitor_pass` (one pass: due or not, its window, recording it) and the tasks of
:mod:`flows.steps.monitor` (the champion's context, the live windows, the drift references, the trigger).

``python -m flows.monitor`` runs it once.
"""

from __future__ import annotations

from prefect import flow

import registry
from abtpro.settings import get_settings
from flows.steps.monitor_models import monitor_model, retrain_where_asked
from flows.steps.monitor_pass import EXPERIMENT, MonitorOutcome
from ml.drift import DriftThresholds
from ml.monitoring import Tolerances
from ml.monitoring_report import SIGNAL_DRIFT_FEATURES, VOLATILITY_DRIFT_FEATURES, clean

__all__ = ["EXPERIMENT", "SIGNAL_DRIFT_FEATURES", "VOLATILITY_DRIFT_FEATURES", "MonitorOutcome", "monitor_models"]

_clean = clean  # older name


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
        dispatch: ``auto`` | ``event`` | ``direct`` | ``record`` | ``none`` (see :func:`flows.steps.monitor.fire_trigger`).
    """
    settings = get_settings()
    registry.configure(settings)
    tolerances = Tolerances(max_qlike_increase=max_qlike_increase, max_coverage_drop=max_coverage_drop,
                            min_auc=min_auc, min_resolved=min_resolved)
    thresholds = DriftThresholds(psi_threshold=psi_threshold, ks_alpha=ks_alpha, share_threshold=drift_share)
    outcomes = []
    for name in models or [registry.VOLATILITY_MODEL, registry.SIGNAL_QUALITY_MODEL]:
        passes = monitor_model(name, window, tolerances, thresholds, drift_features, signal_drift_features,
                               cooldown_bars, dispatch, every_bars)
        outcomes += retrain_where_asked(name, passes)
    return outcomes


if __name__ == "__main__":
    import sys

    if "--serve" in sys.argv[1:]:  # the monitoring chain's deployments (flows.deployments)
        from flows.deployments import MONITORING_CHAIN, serve

        serve(*MONITORING_CHAIN)
    else:
        for item in monitor_models():
            print(item)

