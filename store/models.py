"""SQLAlchemy 2.0 typed ORM models of the app database.

Timestamps are stored as naive UTC datetimes on every backend.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Current time as a naive UTC datetime (the store's convention)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base with one JSON type for every backend."""

    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class User(Base):
    """An API user; the key itself is never stored, only its SHA-256 hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(16), default="user", server_default="user")  # user, feeder, admin
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    signal_scores: Mapped[list[MLSignalScore]] = relationship(back_populates="user")


class MarketBar(Base):
    """One OHLCV bar; unique per (symbol, timeframe, ts)."""

    __tablename__ = "market_bars"
    __table_args__ = (UniqueConstraint("symbol", "timeframe", "ts", name="uq_market_bars_symbol_timeframe_ts"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    ts: Mapped[datetime] = mapped_column(DateTime)
    open: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    close: Mapped[float] = mapped_column(Float)
    volume: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(200))
    ingested_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class QuarantinedRow(Base):
    """An input row that failed a data contract, kept verbatim with the reason."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_source", "source"),
                      UniqueConstraint("row_key", name="uq_quarantine_row_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # sha256 of (source, raw values, n-th identical raw row of one read): re-quarantining a row is a no-op
    row_key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(500))
    symbol: Mapped[str | None] = mapped_column(String(32))
    raw: Mapped[dict[str, Any]] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class AuditLog(Base):
    """Who did what: every train, tune, apply and promote writes one row."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ts: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str | None] = mapped_column(String(500))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MLSignalScore(Base):
    """A scored trading signal (spec model ``MLSignalScore``)."""

    __tablename__ = "ml_signal_scores"
    __table_args__ = (Index("ix_ml_signal_scores_user_created", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    strategy: Mapped[str] = mapped_column(String(64))
    side: Mapped[str | None] = mapped_column(String(4))
    signal_ts: Mapped[datetime | None] = mapped_column(DateTime)
    score: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # pt_mult, sl_mult, max_holding of a trade plan
    prediction: Mapped[str | None] = mapped_column(String(4))
    model_name: Mapped[str | None] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # scored on bars the caller sent inline, not the stored series: kept, but outside live accuracy and drift
    caller_supplied: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    user: Mapped[User] = relationship(back_populates="signal_scores")


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


class VolatilityPrediction(Base):
    """A volatility forecast (spec model ``VolatilityPrediction``); ``actual`` is backfilled later."""

    __tablename__ = "volatility_predictions"
    __table_args__ = (Index("ix_volatility_predictions_symbol_created", "symbol", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    predicted: Mapped[float] = mapped_column(Float)
    actual: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    lower: Mapped[float | None] = mapped_column(Float)
    upper: Mapped[float | None] = mapped_column(Float)
    features: Mapped[dict[str, Any]] = mapped_column(JSON)
    horizon: Mapped[int] = mapped_column(Integer)  # in minutes, as the spec says
    as_of: Mapped[datetime | None] = mapped_column(DateTime)
    model_name: Mapped[str | None] = mapped_column(String(100))
    model_version: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # forecast from bars the caller sent inline, not the stored series: kept, outside live accuracy and drift
    caller_supplied: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


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


class MLSignalOutcome(Base):
    """The resolved triple-barrier outcome of one scored signal (one row per ``MLSignalScore``)."""

    __tablename__ = "ml_signal_outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("ml_signal_scores.id", ondelete="CASCADE"), unique=True)
    outcome: Mapped[float | None] = mapped_column(Float)  # 1 success, 0 failure, NULL when unresolvable
    realised_return: Mapped[float | None] = mapped_column(Float)
    barrier: Mapped[str | None] = mapped_column(String(16))  # pt, sl, vertical
    exit_ts: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IngestedFile(Base):
    """One file a folder-drop source has read: a file is read again only when its content hash changes."""

    __tablename__ = "ingest_files"
    __table_args__ = (UniqueConstraint("source", "path", "sha256", name="uq_ingest_files_source_path_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))  # the configured source's name
    path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    read_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class IngestWatermark(Base):
    """The newest bar timestamp a SQL source has delivered, per (source, symbol, timeframe)."""

    __tablename__ = "ingest_watermarks"
    __table_args__ = (UniqueConstraint("source", "symbol", "timeframe", name="uq_ingest_watermarks_series"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(200))
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    last_ts: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class BarSeries(Base):
    """The revision of one stored bar series: a new random token on every write of its bars
    (:func:`store.bars.upsert_bars`), so a reader that cached the series' bars knows with one key lookup whether
    they are still the stored ones (:class:`store.windows.CachedWindows`)."""

    __tablename__ = "bar_series"
    __table_args__ = (UniqueConstraint("symbol", "timeframe", name="uq_bar_series_symbol_timeframe"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    symbol: Mapped[str] = mapped_column(String(32))
    timeframe: Mapped[str] = mapped_column(String(8))
    revision: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
