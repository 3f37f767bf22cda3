"""The one train -> evaluate -> log -> register template of the model pipelines.

Both training pipelines (``volatility-pipeline``, ``signal-quality-pipeline``) and the retrain flow run
:func:`training_pipeline`: skip when the champion is up to date, else open an ``MLModelTraining`` row, run the
model's train flow (evaluate + fit + :func:`log_training_run`) on the configured task runner, then its register
flow (:func:`register_trained`: gates and champion/challenger), and close the row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
from prefect import Flow

import registry
from abtpro.settings import get_settings
from flows.common import load_series, task_runner
from flows.registration import read_champion, recorded_training, register_candidate, up_to_date_champion
from registry.promotion import Candidate, RegisterOutcome


def data_digest(bars: dict[str, pd.DataFrame]) -> str:
    """Identity of the training data across series (tagged on runs and model versions)."""
    return registry.series_digest(bars)


def log_training_run(experiment: str, run_name: str, *, params: dict[str, Any], metrics: dict[str, float],
                     tags: dict[str, str], bars: dict[str, pd.DataFrame], model: Any, example: pd.DataFrame,
                     files: Callable[[], dict[str, bytes | str]]) -> tuple[str, str]:
    """One MLflow training run (:func:`registry.log_run`: params, finite metrics, lineage tags, the series as
    dataset inputs, the model, then the files). Returns the run id and the logged model's URI."""
    return registry.log_run(get_settings(), experiment, run_name, params=params, metrics=metrics, tags=tags,
                            bars=bars, files=files, model=model, example=example)


def register_trained(name: str, candidate: Candidate, champion_score: Callable[[Any], float | None],
                     gates: dict[str, bool], *, lower_is_better: bool, min_improvement: float) -> RegisterOutcome:
    """Register ``candidate`` as ``challenger`` of ``name``; promote it when it passes ``gates`` and beats
    ``champion_score(champion version)`` (the champion's score on the candidate's data) by the margin."""
    registry.configure(get_settings())
    return register_candidate(name, candidate, champion_score(read_champion(name)), lower_is_better=lower_is_better,
                              min_improvement=min_improvement, gates=gates)


def training_pipeline(model_type: str, name: str, *, symbols: list[str], timeframe: str, params: dict[str, Any],
                      settings_key: Callable[[], str], train: Flow, train_args: dict[str, Any], register: Flow,
                      register_args: dict[str, Any], force: bool = True, training_id: int | None = None,
                      actor: str = "pipeline") -> RegisterOutcome:
    """Train and register one model inside its ``MLModelTraining`` row (``model_type``), with audit rows.

    Args:
        model_type: the training row's type (``VOLATILITY``, ``SIGNAL_QUALITY``).
        name: registered model name.
        symbols, timeframe: the series trained on.
        params: the parameters recorded on the row.
        settings_key: the training settings' identity (asked for only when ``force`` is False).
        train: the train flow, run as ``train(symbols, timeframe, **train_args)`` on the task runner.
        register: the register flow, run as ``register(outcome, symbols, timeframe, **register_args)``.
        force: with False, nothing is trained when the champion was trained on exactly the current data with
            the same settings (its version is returned, not promoted).
        training_id: a row the API pre-created (the check above is then skipped).
        actor: who is recorded in the audit log.
    """
    if not force and training_id is None:
        digest = data_digest(load_series(get_settings().db_url, symbols, timeframe))
        current = up_to_date_champion(name, digest, settings_key())
        if current is not None:
            return current

    def train_and_register() -> tuple[Candidate, RegisterOutcome]:
        outcome = train.with_options(task_runner=task_runner(get_settings()))(symbols, timeframe, **train_args)
        return outcome.candidate, register(outcome, symbols, timeframe, **register_args)

    return recorded_training(model_type, name, params, {"symbols": symbols, "timeframe": timeframe},
                             train_and_register, training_id, actor)
