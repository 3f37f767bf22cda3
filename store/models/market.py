"""Market data: bars, the revision of each bar series, quarantined input rows, the ingestion ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store.models.base import Base, utcnow


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
