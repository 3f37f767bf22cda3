"""Retraining flow: retrain a model on the latest data, compare it with the champion, register it.

``retrain-model`` is what the monitoring trigger runs (through the Prefect deployment trigger on the
``abtpro.model.drift`` event, or directly without a server). For the volatility predictor it

1. reads the champion's training recipe from its MLflow run (symbols, horizon, candidates, walk-forward
   settings) so that the retrain repeats it on today's data;
2. runs :func:`flows.volatility.volatility_pipeline` (walk-forward evaluation, fit, MLflow lineage,
   registration as ``challenger`` and its champion/challenger rule: the champion's recipe re-evaluated
   on the same data);
3. compares the new model with the champion **as deployed** (its frozen fitted parameters) on the most
   recent out-of-sample window: the bars the champion never saw (at most ``recent_window`` of them).
   The candidate's forecasts on that window are walk-forward (refit every ``compare_refit_every`` bars
   on data before each forecast), so both sides are out of sample; the comparison is recorded on the
   version (tags + description) and the version is promoted only if it wins by ``min_improvement``
   and passed the registration gates. Otherwise it stays ``challenger`` for an approver.

``python -m flows.retrain [model]`` runs it once; ``python -m flows.retrain --serve`` serves the
``retrain-model`` deployment with its event trigger (declared in :mod:`flows.deployments`).

The flow is :func:`retrain_model`; its steps (the volatility branch, the other models' branch, the comparison on
the recent window) are in :mod:`flows.steps.retrain`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from prefect import flow, runtime

import registry
from abtpro.settings import get_settings
from flows.common import lower_priority
from flows.steps.retrain import (
    RetrainOutcome,
    compare_on_recent_window,
    retrain_other,
    retrain_volatility,
)
from store import monitoring as store
from store.models import utcnow

__all__ = ["DEPLOYMENT", "DRIFT_EVENT", "RetrainOutcome", "compare_on_recent_window", "retrain_model",
           "retrain_other", "retrain_volatility"]

DRIFT_EVENT = "abtpro.model.drift"
DEPLOYMENT = "retrain-model"


@flow(name="retrain-model", log_prints=True)
def retrain_model(model: str = registry.VOLATILITY_MODEL, trigger_id: int | None = None,
                  symbols: list[str] | None = None, timeframe: str | None = None, horizon: int | None = None,
                  candidates: list[str] | None = None, refit_every: int | None = None,
                  test_fraction: float | None = None, estimator: str | None = None, min_improvement: float = 0.02,
                  recent_window: int = 126, min_window: int = 40, compare_refit_every: int = 21) -> RetrainOutcome:
    """Retrain ``model`` on the latest data and register it as challenger; promote it only if it wins.

    Args:
        model: registered model name (``abtpro-volatility``; ``abtpro-signal-quality`` when its
            training flow exists).
        trigger_id: the ``RetrainTrigger`` row that asked for this run (default: the newest open one).
        symbols, timeframe, horizon, candidates, refit_every, test_fraction: override the champion's recipe.
        estimator: train this volatility model (a name of ``ml.volatility.registry.MODELS``) instead of
            the best candidate.
        min_improvement: relative QLIKE margin the new model needs over the champion.
        recent_window: most recent bars in the out-of-sample comparison with the deployed champion.
        min_window: fewest unseen bars for the window to be "after the champion's training data".
        compare_refit_every: refit period of the candidate's walk-forward on that window.

    A deployment run (its own process) runs at ``settings.retrain_niceness``: background work behind the service
    and the monitoring chain.
    """
    settings = get_settings()
    lower_priority(settings.retrain_niceness)
    registry.configure(settings)
    trigger_id = trigger_id if trigger_id is not None else store.open_trigger(settings.db_url, model)
    if trigger_id is not None:
        store.update_trigger(settings.db_url, trigger_id, status="running",
                             flow_run_id=str(runtime.flow_run.id or "") or None)
    try:
        if model == registry.VOLATILITY_MODEL:
            outcome = retrain_volatility(trigger_id, symbols, timeframe, horizon, candidates, refit_every,
                                         test_fraction, estimator, min_improvement, recent_window, min_window,
                                         compare_refit_every)
        else:
            outcome = retrain_other(model)
    except Exception as err:
        if trigger_id is not None:
            store.update_trigger(settings.db_url, trigger_id, status="failed", completed_at=utcnow(),
                                 result={"error": f"{type(err).__name__}: {err}"})
        raise
    if trigger_id is not None:
        store.update_trigger(settings.db_url, trigger_id, status=outcome.status, completed_at=utcnow(),
                             result=json.loads(json.dumps(asdict(outcome), default=str)))
    return outcome


if __name__ == "__main__":
    if "--serve" in sys.argv[1:]:
        from flows.deployments import serve

        serve(DEPLOYMENT)
    else:
        args = [a for a in sys.argv[1:] if not a.startswith("-")]
        print(retrain_model(*(args[:1] or [])))
