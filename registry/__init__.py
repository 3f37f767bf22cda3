"""The MLflow side of the pipeline: tracking, model logging, registration, aliases, loading the champion,
promotion gates and the champion/challenger decision.

Flows and the service import this package; it imports ``ml`` (pure) and the settings, never a flow or a handler.
"""

from registry.gates import PromotionDecision, decide_promotion, signal_quality_gates, volatility_gates
from registry.mlflow_registry import (
    ABSENT_CODES,
    CHALLENGER,
    CHAMPION,
    SIGNAL_QUALITY_MODEL,
    VOLATILITY_MODEL,
    LoadedModel,
    PickledModel,
    alias_version,
    annotate_version,
    champion_context,
    load_alias,
    log_model,
    register,
    set_alias,
    version_tags,
)
from registry.promotion import Candidate, RegisterOutcome, RegistrationPlan, plan_registration, up_to_date
from registry.tracking import (
    code_version,
    configure,
    ensure_experiment,
    frame_digest,
    load_run_parquet,
    log_monitoring_pass,
    log_run,
    log_training_data,
    run_params,
    series_digest,
)

__all__ = [
    "ABSENT_CODES",
    "CHALLENGER",
    "CHAMPION",
    "SIGNAL_QUALITY_MODEL",
    "VOLATILITY_MODEL",
    "Candidate",
    "LoadedModel",
    "PickledModel",
    "PromotionDecision",
    "RegisterOutcome",
    "RegistrationPlan",
    "alias_version",
    "annotate_version",
    "champion_context",
    "code_version",
    "configure",
    "decide_promotion",
    "ensure_experiment",
    "frame_digest",
    "load_alias",
    "load_run_parquet",
    "log_model",
    "log_monitoring_pass",
    "log_run",
    "log_training_data",
    "plan_registration",
    "register",
    "run_params",
    "series_digest",
    "set_alias",
    "signal_quality_gates",
    "up_to_date",
    "version_tags",
    "volatility_gates",
]
