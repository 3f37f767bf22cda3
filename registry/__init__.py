"""The MLflow side of the pipeline: tracking, model logging, registration, aliases, loading the champion,
promotion gates and the champion/challenger decision.

Flows and the service import this package; it imports ``ml`` (pure) and the settings, never a flow or a handler.
"""

from registry.gates import PromotionDecision, decide_promotion
from registry.mlflow_registry import (
    ABSENT_CODES,
    CHALLENGER,
    CHAMPION,
    SIGNAL_QUALITY_MODEL,
    VOLATILITY_MODEL,
    LoadedModel,
    PickledModel,
    alias_version,
    code_version,
    configure,
    ensure_experiment,
    frame_digest,
    load_alias,
    log_model,
    log_training_data,
    register,
    set_alias,
)

__all__ = [
    "ABSENT_CODES", "CHALLENGER", "CHAMPION", "SIGNAL_QUALITY_MODEL", "VOLATILITY_MODEL", "LoadedModel",
    "PickledModel", "PromotionDecision", "alias_version", "code_version", "configure", "decide_promotion",
    "ensure_experiment", "frame_digest", "load_alias", "log_model", "log_training_data", "register", "set_alias",
]
