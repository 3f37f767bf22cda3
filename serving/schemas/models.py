"""Model management: registered versions, training jobs, reloads and the performance report."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from serving.schemas.common import SYMBOL_PATTERN, ModelRef, UtcDatetime, _Strict


class RegisteredVersion(BaseModel):
    version: str
    aliases: list[str]
    run_id: str | None
    created_at: UtcDatetime | None
    tags: dict[str, str]
    description: str | None


class ModelInfo(BaseModel):
    name: str
    kind: str
    serving: ModelRef | None = Field(description="The version this server answers with (None: no champion).")
    versions: list[RegisteredVersion]


class ModelList(BaseModel):
    models: list[ModelInfo]


class TrainRequest(_Strict):
    model_type: Literal["VOLATILITY", "SIGNAL_QUALITY"]
    symbols: list[Annotated[str, Field(pattern=SYMBOL_PATTERN)]] | None = Field(default=None, max_length=100)
    horizon: int = Field(default=5, ge=1, le=66, description="Volatility horizon in bars.")

    @field_validator("symbols")
    @classmethod
    def _symbols(cls, value: list[str] | None) -> list[str] | None:
        for s in value or []:
            if not re.fullmatch(SYMBOL_PATTERN, s):
                raise ValueError(f"bad symbol {s!r}")
        return value


class JobStatus(BaseModel):
    job_id: int
    model_type: str
    status: str = Field(description="TRAINING, COMPLETED or FAILED.")
    model_version: str | None = None
    mlflow_run_id: str | None = None
    performance: dict[str, Any] = Field(default_factory=dict)
    training_data: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    started_at: UtcDatetime
    completed_at: UtcDatetime | None = None


class ReloadResult(BaseModel):
    models: dict[str, ModelRef | None]
    changed: list[str]


class ModelPerformance(BaseModel):
    name: str
    serving: ModelRef | None
    registry_metrics: dict[str, float] = Field(description="Metrics of the serving version's MLflow run.")
    live: dict[str, Any] = Field(description="Metrics from the stored predictions (all users).")
    recent_trainings: list[JobStatus]


class PerformanceReport(BaseModel):
    models: list[ModelPerformance]

