"""The steps of the retraining flow (:mod:`flows.retrain`): what a retrain produced, the volatility branch (its
champion's recipe on today's data, then the comparison with the champion as deployed on the most recent bars it
never saw, recorded on the version) and the branch of the other models."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from ml.volatility.comparison import compare_on_window, pooled_qlike, recent_window_start
from registry.promotion import retrain_decision, scorer_recipe, volatility_recipe
from store import bars as bar_store
from store import records


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
