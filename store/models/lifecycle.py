"""The life of a model: training runs, strategy optimisations, monitoring passes, retrain triggers and the reload
announcements of the serving processes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


class MLModelTraining(Base):
    """One training run of a model (spec model ``MLModelTraining``)."""

    __tablename__ = "ml_model_trainings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_type: Mapped[str] = mapped_column(String(32))  # SIGNAL_QUALITY, RL_TUNER, VOLATILITY
    model_version: Mapped[str | None] = mapped_column(String(32))
    training_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    hyperparameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    performance: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))  # TRAINING, COMPLETED, FAILED
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class StrategyOptimization(Base):
    """A strategy-tuning result (spec model ``StrategyOptimization``)."""

    __tablename__ = "strategy_optimizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    strategy: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str | None] = mapped_column(String(32))
    timeframe: Mapped[str | None] = mapped_column(String(8))
    original_params: Mapped[dict[str, Any]] = mapped_column(JSON)
    optimized_params: Mapped[dict[str, Any]] = mapped_column(JSON)
    performance: Mapped[dict[str, Any]] = mapped_column(JSON)
    method: Mapped[str] = mapped_column(String(32))  # RL_BANDIT, ..., GRID_SEARCH, RANDOM, OPTUNA
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class ModelMonitoring(Base):
    """One monitoring pass over a champion model: live metrics, validation metrics, drift and the decision."""

    __tablename__ = "model_monitoring"
    __table_args__ = (Index("ix_model_monitoring_model_created", "model_name", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(32))
    task: Mapped[str] = mapped_column(String(32))  # volatility, signal_quality
    window_start: Mapped[datetime | None] = mapped_column(DateTime)
    window_end: Mapped[datetime | None] = mapped_column(DateTime)
    n_predictions: Mapped[int] = mapped_column(Integer, default=0)
    n_resolved: Mapped[int] = mapped_column(Integer, default=0)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # live metrics over the window
    validation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the version's own validation metrics
    drift: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decision: Mapped[str] = mapped_column(String(32))  # ok, retrain, insufficient_data
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    mlflow_run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RetrainTrigger(Base):
    """Why a retrain was asked for, whether it fired or the cooldown held it back, and what came of it."""

    __tablename__ = "retrain_triggers"
    __table_args__ = (Index("ix_retrain_triggers_model_created", "model_name", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(32))  # the champion that was judged
    monitoring_id: Mapped[int | None] = mapped_column(ForeignKey("model_monitoring.id"))
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16))  # fired, suppressed, running, completed, failed
    mode: Mapped[str] = mapped_column(String(16))  # event (Prefect automation), direct (embedded), none
    event_id: Mapped[str | None] = mapped_column(String(64))
    cooldown_until: Mapped[datetime | None] = mapped_column(DateTime)
    data_ts: Mapped[datetime | None] = mapped_column(DateTime)  # newest bar (data time) of the judged window
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)


class ModelReload(Base):
    """An announcement that one registered model's champion changed: a new random revision whenever a serving
    process reloads the model on an explicit signal (an MLflow webhook, ``POST /ml/models/reload``), so the
    service's other processes, which watch the revisions every second (:mod:`store.reloads`), reload it too
    instead of waiting for their alias poll."""

    __tablename__ = "model_reloads"

    model_name: Mapped[str] = mapped_column(String(128), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
    version: Mapped[str | None] = mapped_column(String(32))  # what the announcing process serves now
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
