"""What the API answered: scored signals, their resolved outcomes, volatility forecasts."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store.models.base import Base, utcnow

if TYPE_CHECKING:  # the relationship's target, resolved by class name when the mappers are configured
    from store.models.accounts import User


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
