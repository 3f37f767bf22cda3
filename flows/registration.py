"""Shared registration steps of every model pipeline: champion/challenger aliases and training records.

The decisions are plain Python in :mod:`registry.promotion`; here they are wrapped in Prefect tasks that retry
the registry calls, and in the ``MLModelTraining`` row of a training run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

import registry
from abtpro.settings import get_settings
from registry.promotion import Candidate, RegisterOutcome, plan_registration, training_record, up_to_date
from store import records

__all__ = ["REGISTRY_RETRIES", "REGISTRY_RETRY_DELAY_SECONDS", "Candidate", "RegisterOutcome", "read_champion",
           "recorded_training", "register_candidate", "register_version", "set_aliases", "up_to_date_champion"]

# The registry is a server in production: a registration step that cannot reach it is retried, then the
# flow fails. Aliases are only moved after the version is fully registered, so none points at a half-done one.
REGISTRY_RETRIES = 2
REGISTRY_RETRY_DELAY_SECONDS = 3


@task(retries=REGISTRY_RETRIES, retry_delay_seconds=REGISTRY_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def register_version(model_uri: str, name: str, tags: dict[str, str], description: str):
    """Register, tag and describe a new model version (retried when the registry is unreachable)."""
    return registry.register(model_uri, name, tags=tags, description=description)


@task(retries=REGISTRY_RETRIES, retry_delay_seconds=REGISTRY_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def read_champion(name: str):
    """The version holding ``champion`` (None when there is none); retried when the registry is unreachable."""
    return registry.alias_version(name, registry.CHAMPION)


@task(retries=REGISTRY_RETRIES, retry_delay_seconds=REGISTRY_RETRY_DELAY_SECONDS, cache_policy=NO_CACHE)
def set_aliases(name: str, version: str, promote: bool) -> None:
    """Point ``challenger`` (and ``champion`` when promoted) at ``version``; idempotent, so safe to retry."""
    registry.set_alias(name, registry.CHALLENGER, version)
    if promote:
        registry.set_alias(name, registry.CHAMPION, version)


def register_candidate(name: str, candidate: Candidate, champion_score: float | None, *, lower_is_better: bool,
                       min_improvement: float, gates: dict[str, bool]) -> RegisterOutcome:
    """Register ``candidate`` as a new version of ``name`` with alias ``challenger``; promote it to
    ``champion`` only when it passes the gates and beats the champion's score on the same data
    (:func:`registry.promotion.plan_registration`; arguments as there)."""
    champion = read_champion(name)
    champion_version = str(champion.version) if champion else None
    plan = plan_registration(candidate, champion_score, champion_version, lower_is_better=lower_is_better,
                             min_improvement=min_improvement, gates=gates, code_version=registry.code_version())
    version = register_version(candidate.model_uri, name, tags=plan.tags, description=plan.description)
    set_aliases(name, str(version.version), plan.decision.promote)
    get_run_logger().info("registered %s v%s: %s", name, version.version, plan.decision.reason)
    return RegisterOutcome(str(version.version), plan.decision.promote, plan.decision.reason, champion_version,
                           plan.comparison)


def recorded_training(model_type: str, name: str, params: dict[str, Any], training_data: dict[str, Any],
                      run: Callable[[], tuple[Candidate, RegisterOutcome]], training_id: int | None = None,
                      actor: str = "pipeline") -> RegisterOutcome:
    """Run ``run`` (train + register) inside an ``MLModelTraining`` row TRAINING -> COMPLETED/FAILED,
    with audit-log rows for the training and any promotion."""
    url = get_settings().db_url
    training_id = records.start_training(url, model_type, params, training_data, training_id)
    try:
        candidate, result = run()
    except Exception as err:
        records.finish_training(url, training_id, status="FAILED", error=f"{type(err).__name__}: {err}")
        raise
    records.finish_training(url, training_id, status="COMPLETED", model_version=result.version,
                            mlflow_run_id=candidate.run_id, performance=training_record(candidate, result))
    target = f"{name}/{result.version}"
    records.audit(url, actor, "train", target, {"training_id": training_id, "promoted": result.promoted,
                                               "reason": result.reason})
    if result.promoted:
        records.audit(url, actor, "promote", target, {"reason": result.reason})
    return result


def up_to_date_champion(name: str, data_digest: str, settings_key: str) -> RegisterOutcome | None:
    """The champion, when it was trained on exactly this data with these settings (nothing to retrain)."""
    registry.configure(get_settings())
    champion = registry.alias_version(name, registry.CHAMPION)
    current = up_to_date(str(champion.version) if champion else None, champion.tags if champion else {},
                         data_digest, settings_key)
    if current is not None:
        get_run_logger().info("%s champion v%s was trained on identical data and settings; nothing to do", name,
                              current.version)
    return current
