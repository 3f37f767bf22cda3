"""Champion/challenger registration, as plain Python: what a trained candidate is, what its registration
decides, the tags and description the new version carries, and when a champion is already up to date.

The flows wrap the registry calls in retried tasks (``flows.registration``); everything decided here is
computed from values, so it is tested without MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from registry.gates import PromotionDecision, decide_promotion


@dataclass(frozen=True)
class Candidate:
    """A trained model ready for registration: where it is logged and how it scored out of sample."""

    model_uri: str
    run_id: str
    metric: str
    score: float
    metrics: dict[str, float]
    tags: dict[str, str]
    summary: str


@dataclass(frozen=True)
class RegisterOutcome:
    """The registered version, and whether it became champion (with the reason)."""

    version: str
    promoted: bool
    reason: str
    champion_version: str | None
    comparison: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class RegistrationPlan:
    """What registering a candidate does: the promotion decision, the comparison with the champion and the
    tags and description of the new version."""

    decision: PromotionDecision
    comparison: dict[str, float | None]
    tags: dict[str, str]
    description: str


def plan_registration(candidate: Candidate, champion_score: float | None, champion_version: str | None, *,
                      lower_is_better: bool, min_improvement: float, gates: dict[str, bool],
                      code_version: str) -> RegistrationPlan:
    """Decide the promotion of ``candidate`` against the champion and build the new version's tags.

    Args:
        candidate: the trained model.
        champion_score: the current champion's ``candidate.metric`` on the same data (None: no champion).
        champion_version: the champion's version number (None: no champion).
        lower_is_better: whether the metric is a loss.
        min_improvement: relative margin needed for automatic promotion.
        gates: named quality gates, True when passed.
        code_version: the running code's version (tag ``code_version``).
    """
    decision = decide_promotion(candidate.score, champion_score, lower_is_better=lower_is_better,
                                min_improvement=min_improvement, gates=gates)
    comparison = {f"candidate_{candidate.metric}": candidate.score, f"champion_{candidate.metric}": champion_score}
    tags = {**candidate.tags, "code_version": code_version, "promotion": decision.reason,
            "compared_with": champion_version or "none", **{k: f"{v}" for k, v in comparison.items()}}
    return RegistrationPlan(decision, comparison, tags, f"{candidate.summary}; {decision.reason}")


def up_to_date(champion_version: str | None, champion_tags: dict[str, str], data_digest: str,
               settings_key: str) -> RegisterOutcome | None:
    """The champion as the outcome, when it was trained on exactly this data with these settings (None
    otherwise: there is something to retrain)."""
    if champion_version is None or champion_tags.get("data_digest") != data_digest or champion_tags.get(
            "settings") != settings_key:
        return None
    return RegisterOutcome(champion_version, False, f"up to date: champion v{champion_version} was trained "
                           "on identical data and settings", champion_version)


def training_record(candidate: Candidate, outcome: RegisterOutcome) -> dict[str, Any]:
    """The ``performance`` of a completed training row: the candidate's metrics and the registration."""
    return {**candidate.metrics, "version": outcome.version, "promoted": outcome.promoted,
            "reason": outcome.reason, "champion_version": outcome.champion_version,
            "comparison": outcome.comparison}


def retrain_decision(registration_reason: str, champion_qlike: float | None, candidate_qlike: float | None,
                     champion_version: str, min_improvement: float) -> tuple[bool, str]:
    """Whether a retrained volatility version replaces the deployed champion after the recent-window
    comparison, and why: it must win by ``min_improvement`` and have passed the registration's gates."""
    decision = decide_promotion(candidate_qlike, champion_qlike, lower_is_better=True,
                                min_improvement=min_improvement, gates={})
    reason = f"on the recent out-of-sample window vs deployed v{champion_version}: {decision.reason}"
    gates_failed = registration_reason.startswith("gates failed")
    if decision.promote and gates_failed:
        reason = f"{reason}; but not promoted: registration {registration_reason}"
    return decision.promote and not gates_failed, reason


def volatility_recipe(params: dict[str, str]) -> dict[str, Any]:
    """The training settings of a volatility run from its MLflow params (symbols, candidates, walk-forward)."""
    recipe: dict[str, Any] = {}
    if params.get("symbols"):
        recipe["symbols"] = params["symbols"].split(",")
    if params.get("candidates"):
        recipe["candidates"] = params["candidates"].split(",")
    for key, cast in (("timeframe", str), ("horizon", int), ("refit_every", int), ("test_fraction", float)):
        if key in params:
            recipe[key] = cast(params[key])
    return recipe


def scorer_recipe(params: dict[str, str]) -> dict[str, Any]:
    """The training settings of a signal-scorer run from its MLflow params (series, strategies, barriers)."""
    recipe: dict[str, Any] = {}
    for key in ("symbols", "strategies"):
        if params.get(key):
            recipe[key] = params[key].split(",")
    for key, cast in (("timeframe", str), ("model", str), ("pt_mult", float), ("sl_mult", float),
                      ("max_holding", int), ("vol_span", int)):
        if key in params:
            recipe[key] = cast(params[key])
    return recipe
