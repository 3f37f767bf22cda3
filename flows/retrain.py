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
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd
from prefect import flow, get_run_logger, runtime, task
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from ml.volatility.comparison import compare_on_window, pooled_qlike, recent_window_start
from registry.promotion import retrain_decision, scorer_recipe, volatility_recipe
from store import bars as bar_store
from store import monitoring as store
from store import records
from store.models import utcnow

DRIFT_EVENT = "abtpro.model.drift"
DEPLOYMENT = "retrain-model"


@dataclass(frozen=True)
class RetrainOutcome:
    """What a retrain produced: the new version, whether it is champion now, and the comparisons."""

    model: str
    version: str | None
    promoted: bool
    reason: str
    previous_champion: str | None = None
    comparison: dict[str, Any] = field(default_factory=dict)
    status: str = "completed"




@task(cache_policy=NO_CACHE)
def compare_on_recent_window(champion: registry.LoadedModel, candidate_model: str, symbols: list[str],
                             timeframe: str, horizon: int, recent_window: int, min_window: int,
                             compare_refit_every: int, coverage: float = 0.9) -> dict[str, Any]:
    """QLIKE (and the other volatility metrics) of the frozen champion and of the retrained recipe
    (walk-forward) on the most recent bars the champion did not train on, per symbol and pooled
    (:mod:`ml.volatility.comparison`)."""
    url = get_settings().db_url
    ranges = getattr(champion.model, "metadata", {}).get("data_ranges", {})
    per_symbol, pooled = {}, []
    for symbol in symbols:
        bars = bar_store.read_bars(url, symbol, timeframe)
        start = recent_window_start(bars, (ranges.get(symbol) or [None, None])[1], recent_window, min_window)
        per_symbol[symbol], rows = compare_on_window(bars, champion.model.for_symbol(symbol), candidate_model,
                                                     horizon, start, compare_refit_every, coverage)
        pooled.append(rows)
    qlike = pooled_qlike(pd.concat(pooled))
    return {"champion_qlike": qlike.get("champion"), "candidate_qlike": qlike.get("candidate"),
            "per_symbol": per_symbol, "candidate_model": candidate_model, "champion_version": champion.version}


def _record_on_version(name: str, version: str, comparison: dict[str, Any], reason: str) -> None:
    registry.annotate_version(name, version, {
        "retrain_comparison": json.dumps({k: comparison.get(k) for k in ("champion_qlike", "candidate_qlike",
                                                                         "champion_version")}),
        "retrain_decision": reason}, f"Retrain vs deployed champion: {reason}")


def retrain_volatility(trigger_id: int | None, symbols: list[str] | None, timeframe: str | None, horizon: int | None,
                       candidates: list[str] | None, refit_every: int | None, test_fraction: float | None,
                       model: str | None, min_improvement: float, recent_window: int, min_window: int,
                       compare_refit_every: int) -> RetrainOutcome:
    """The volatility branch of :func:`retrain_model` (see the module docstring)."""
    from flows.volatility import volatility_pipeline

    name = registry.VOLATILITY_MODEL
    champion = registry.load_alias(name, registry.CHAMPION)
    recipe = volatility_recipe(registry.run_params(champion.run_id if champion else None))
    given = {"symbols": symbols, "timeframe": timeframe, "horizon": horizon, "candidates": candidates,
             "refit_every": refit_every, "test_fraction": test_fraction, "model": model}
    recipe.update({k: v for k, v in given.items() if v is not None})
    get_run_logger().info("retraining %s with %s (champion: %s)", name, recipe,
                          champion.version if champion else "none")
    result = volatility_pipeline(**recipe, min_improvement=min_improvement, actor="retrain")
    comparison: dict[str, Any] = {"recipe_comparison": result.comparison, "registration": result.reason}
    promoted, reason = result.promoted, f"registration: {result.reason}"
    if champion is not None and not result.promoted:
        tags = registry.version_tags(name, result.version)
        recent = compare_on_recent_window(champion, tags.get("model", recipe.get("candidates", ["?"])[0]),
                                          recipe.get("symbols") or list(champion.model.models),
                                          recipe.get("timeframe", "1d"), int(recipe.get("horizon", 5)),
                                          recent_window, min_window, compare_refit_every)
        comparison.update(recent)
        promoted, reason = retrain_decision(result.reason, recent["champion_qlike"], recent["candidate_qlike"],
                                            champion.version, min_improvement)
        _record_on_version(name, result.version, recent, reason)
        if promoted:
            registry.set_alias(name, registry.CHAMPION, result.version)
            records.audit(get_settings().db_url, "retrain", "promote", f"{name}/{result.version}",
                          {"reason": reason, "trigger_id": trigger_id})
    get_run_logger().info("retrain of %s: v%s %s (%s)", name, result.version,
                          "promoted" if promoted else "not promoted", reason)
    return RetrainOutcome(name, result.version, promoted, reason, champion.version if champion else None,
                          comparison)


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
    """
    settings = get_settings()
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


def retrain_other(model: str) -> RetrainOutcome:
    """Models other than the volatility predictor: the signal scorer is retrained by
    :func:`flows.signal_quality.signal_quality_pipeline` with its champion's recipe (its own
    champion/challenger rule decides the promotion)."""
    if model != registry.SIGNAL_QUALITY_MODEL:
        raise ValueError(f"no retraining recipe for model {model!r}")
    try:
        from flows.signal_quality import signal_quality_pipeline
    except ImportError:
        return RetrainOutcome(model, None, False, "flows.signal_quality has no signal_quality_pipeline",
                              status="skipped")
    champion = registry.alias_version(model, registry.CHAMPION)
    result = signal_quality_pipeline(**scorer_recipe(registry.run_params(champion.run_id if champion else None)),
                                     actor="retrain")
    return RetrainOutcome(model, str(result.version), bool(result.promoted), f"registration: {result.reason}",
                          str(champion.version) if champion else None, {"comparison": result.comparison})


if __name__ == "__main__":
    if "--serve" in sys.argv[1:]:
        from flows.deployments import serve

        serve(DEPLOYMENT)
    else:
        args = [a for a in sys.argv[1:] if not a.startswith("-")]
        print(retrain_model(*(args[:1] or [])))
