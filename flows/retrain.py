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

import mlflow
import pandas as pd
from prefect import flow, get_run_logger, runtime, task
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from ml.metrics import volatility_metrics
from ml.volatility.evaluation import WalkForwardConfig, walk_forward_forecasts
from ml.volatility.registry import make_model
from ml.volatility.targets import realised_vol_target, trailing_realised_vol
from registry.gates import decide_promotion
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


def _champion_recipe(champion_run_id: str | None) -> dict[str, Any]:
    """Training settings of the champion's MLflow run (empty without a champion)."""
    if not champion_run_id:
        return {}
    params = mlflow.get_run(champion_run_id).data.params
    recipe: dict[str, Any] = {}
    if params.get("symbols"):
        recipe["symbols"] = params["symbols"].split(",")
    if params.get("candidates"):
        recipe["candidates"] = params["candidates"].split(",")
    for key, cast in (("timeframe", str), ("horizon", int), ("refit_every", int), ("test_fraction", float)):
        if key in params:
            recipe[key] = cast(params[key])
    return recipe


def _recent_window(bars: pd.DataFrame, trained_until: str | None, recent_window: int, min_window: int) -> int:
    """Start position of the comparison window: the bars after the champion's training data, at most
    ``recent_window`` of them (the last ``recent_window`` bars when fewer than ``min_window`` are new)."""
    start = max(len(bars) - recent_window, 0)
    if trained_until is not None:
        unseen = int((bars.index > pd.Timestamp(trained_until)).sum())
        if unseen >= min_window:
            start = max(start, len(bars) - unseen)
    return start


@task(cache_policy=NO_CACHE)
def compare_on_recent_window(champion: registry.LoadedModel, candidate_model: str, symbols: list[str],
                             timeframe: str, horizon: int, recent_window: int, min_window: int,
                             compare_refit_every: int, coverage: float = 0.9) -> dict[str, Any]:
    """QLIKE (and the other volatility metrics) of the frozen champion and of the retrained recipe
    (walk-forward) on the most recent bars the champion did not train on, per symbol and pooled."""
    settings = get_settings()
    ranges = getattr(champion.model, "metadata", {}).get("data_ranges", {})
    per_symbol, pooled = {}, []
    for symbol in symbols:
        bars = bar_store.read_bars(settings.db_url, symbol, timeframe)
        start = _recent_window(bars, (ranges.get(symbol) or [None, None])[1], recent_window, min_window)
        realised = realised_vol_target(bars, horizon)
        current = trailing_realised_vol(bars, horizon)
        frozen = champion.model.for_symbol(symbol).predict_frame(bars, coverage).iloc[start:]
        config = WalkForwardConfig(horizon=horizon, refit_every=compare_refit_every,
                                   test_fraction=(len(bars) - start) / len(bars), coverage=coverage)
        fresh = walk_forward_forecasts(bars, make_model(candidate_model, horizon), config)
        scores = {}
        for side, fc in (("champion", frozen), ("candidate", fresh)):
            idx = fc.index
            scores[side] = volatility_metrics(realised.reindex(idx), fc["forecast"], current.reindex(idx),
                                              fc["lower"], fc["upper"])
            pooled.append(pd.DataFrame({"side": side, "realised": realised.reindex(idx), "forecast": fc["forecast"]}))
        scores["window"] = [str(bars.index[start]), str(bars.index[-1])]
        per_symbol[symbol] = scores
    both = pd.concat(pooled).dropna()
    qlike = {side: volatility_metrics(g["realised"], g["forecast"])["qlike"] for side, g in both.groupby("side")}
    return {"champion_qlike": qlike.get("champion"), "candidate_qlike": qlike.get("candidate"),
            "per_symbol": per_symbol, "candidate_model": candidate_model, "champion_version": champion.version}


def _record_on_version(name: str, version: str, comparison: dict[str, Any], reason: str) -> None:
    client = mlflow.MlflowClient()
    client.set_model_version_tag(name, version, "retrain_comparison", json.dumps(
        {k: comparison.get(k) for k in ("champion_qlike", "candidate_qlike", "champion_version")}))
    client.set_model_version_tag(name, version, "retrain_decision", reason)
    current = client.get_model_version(name, version).description or ""
    client.update_model_version(name, version, description=f"{current}\nRetrain vs deployed champion: {reason}")


def retrain_volatility(trigger_id: int | None, symbols: list[str] | None, timeframe: str | None, horizon: int | None,
                       candidates: list[str] | None, refit_every: int | None, test_fraction: float | None,
                       model: str | None, min_improvement: float, recent_window: int, min_window: int,
                       compare_refit_every: int) -> RetrainOutcome:
    """The volatility branch of :func:`retrain_model` (see the module docstring)."""
    from flows.volatility import volatility_pipeline

    settings = get_settings()
    logger = get_run_logger()
    name = registry.VOLATILITY_MODEL
    champion = registry.load_alias(name, registry.CHAMPION)
    recipe = _champion_recipe(champion.run_id if champion else None)
    given = {"symbols": symbols, "timeframe": timeframe, "horizon": horizon, "candidates": candidates,
             "refit_every": refit_every, "test_fraction": test_fraction, "model": model}
    recipe.update({k: v for k, v in given.items() if v is not None})
    logger.info("retraining %s with %s (champion: %s)", name, recipe, champion.version if champion else "none")
    result = volatility_pipeline(**recipe, min_improvement=min_improvement, actor="retrain")
    comparison: dict[str, Any] = {"recipe_comparison": result.comparison, "registration": result.reason}
    promoted, reason = result.promoted, f"registration: {result.reason}"
    if champion is not None and not result.promoted:
        new = mlflow.MlflowClient().get_model_version(name, result.version)
        recent = compare_on_recent_window(champion, new.tags.get("model", recipe.get("candidates", ["?"])[0]),
                                          recipe.get("symbols") or list(champion.model.models),
                                          recipe.get("timeframe", "1d"), int(recipe.get("horizon", 5)),
                                          recent_window, min_window, compare_refit_every)
        comparison.update(recent)
        decision = decide_promotion(recent["candidate_qlike"], recent["champion_qlike"], lower_is_better=True,
                                    min_improvement=min_improvement, gates={})
        reason = f"on the recent out-of-sample window vs deployed v{champion.version}: {decision.reason}"
        gates_failed = result.reason.startswith("gates failed")  # the registration's quality gates
        if decision.promote and gates_failed:
            reason = f"{reason}; but not promoted: registration {result.reason}"
        _record_on_version(name, result.version, recent, reason)
        if decision.promote and not gates_failed:
            registry.set_alias(name, registry.CHAMPION, result.version)
            records.audit(settings.db_url, "retrain", "promote", f"{name}/{result.version}",
                          {"reason": reason, "trigger_id": trigger_id})
            promoted = True
    logger.info("retrain of %s: v%s %s (%s)", name, result.version, "promoted" if promoted else "not promoted",
                reason)
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


def _scorer_recipe(champion_run_id: str | None) -> dict[str, Any]:
    """Training settings of the signal scorer champion's MLflow run (series, strategies, barriers)."""
    if not champion_run_id:
        return {}
    params = mlflow.get_run(champion_run_id).data.params
    recipe: dict[str, Any] = {}
    for key in ("symbols", "strategies"):
        if params.get(key):
            recipe[key] = params[key].split(",")
    for key, cast in (("timeframe", str), ("model", str), ("pt_mult", float), ("sl_mult", float),
                      ("max_holding", int), ("vol_span", int)):
        if key in params:
            recipe[key] = cast(params[key])
    return recipe


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
    result = signal_quality_pipeline(**_scorer_recipe(champion.run_id if champion else None), actor="retrain")
    return RetrainOutcome(model, str(result.version), bool(result.promoted), f"registration: {result.reason}",
                          str(champion.version) if champion else None, {"comparison": result.comparison})


if __name__ == "__main__":
    if "--serve" in sys.argv[1:]:
        from flows.deployments import serve

        serve(DEPLOYMENT)
    else:
        args = [a for a in sys.argv[1:] if not a.startswith("-")]
        print(retrain_model(*(args[:1] or [])))
