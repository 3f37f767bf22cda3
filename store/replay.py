"""Reads of what the live loop did during a market replay: everything recorded since the replay started.

The replay's app simulator calls the service with its own user, so its stored requests are the rows of that
user; monitoring passes and retrain triggers are those created since the replay's start.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import func, select

from store.db import get_engine
from store.models import (
    MLSignalOutcome,
    MLSignalScore,
    ModelMonitoring,
    QuarantinedRow,
    RetrainTrigger,
    VolatilityPrediction,
)


def forecasts(url: str, user_id: int) -> pd.DataFrame:
    """The user's volatility forecasts: id, symbol, as_of, predicted, lower, upper, actual, model_version."""
    v = VolatilityPrediction
    stmt = (select(v.id, v.symbol, v.as_of, v.predicted, v.lower, v.upper, v.actual, v.model_version)
            .where(v.user_id == user_id).order_by(v.id))
    with get_engine(url).connect() as conn:
        frame = pd.DataFrame(conn.execute(stmt).all(),
                             columns=["id", "symbol", "as_of", "predicted", "lower", "upper", "actual", "model_version"])
    for col in ("predicted", "lower", "upper", "actual"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame


def scored_signals(url: str, user_id: int) -> pd.DataFrame:
    """The user's scored signals with outcomes: id, symbol, strategy, signal_ts, score, taken, model_version, outcome."""
    s, o = MLSignalScore, MLSignalOutcome
    stmt = (select(s.id, s.symbol, s.strategy, s.signal_ts, s.score, s.prediction, s.model_version, o.outcome)
            .outerjoin(o, o.score_id == s.id).where(s.user_id == user_id).order_by(s.id))
    with get_engine(url).connect() as conn:
        frame = pd.DataFrame(conn.execute(stmt).all(), columns=["id", "symbol", "strategy", "signal_ts", "score",
                                                                "prediction", "model_version", "outcome"])
    frame["taken"] = frame["prediction"].isin(["BUY", "SELL"])
    frame["outcome"] = pd.to_numeric(frame["outcome"], errors="coerce").astype("float64")
    return frame


def monitoring_passes(url: str, since: datetime) -> pd.DataFrame:
    """Monitoring passes recorded since ``since``: model, version, window_end, n_resolved, decision, reasons."""
    m = ModelMonitoring
    stmt = (select(m.id, m.model_name, m.model_version, m.window_end, m.n_resolved, m.decision, m.reasons,
                   m.created_at).where(m.created_at >= since).order_by(m.id))
    with get_engine(url).connect() as conn:
        return pd.DataFrame(conn.execute(stmt).all(), columns=["id", "model", "version", "window_end", "n_resolved",
                                                               "decision", "reasons", "created_at"])


def triggers(url: str, since: datetime) -> pd.DataFrame:
    """Retrain triggers recorded since ``since``: model, version, status, mode, reasons, data_ts, result."""
    t = RetrainTrigger
    stmt = (select(t.id, t.model_name, t.model_version, t.status, t.mode, t.reasons, t.data_ts, t.flow_run_id,
                   t.result, t.created_at, t.completed_at).where(t.created_at >= since).order_by(t.id))
    with get_engine(url).connect() as conn:
        return pd.DataFrame(conn.execute(stmt).all(), columns=["id", "model", "version", "status", "mode", "reasons",
                                                               "data_ts", "flow_run_id", "result", "created_at",
                                                               "completed_at"])


def quarantined_since(url: str, source_prefix: str, since: datetime) -> int:
    """Rows quarantined since ``since`` from sources whose name starts with ``source_prefix``."""
    q = QuarantinedRow
    stmt = (select(func.count()).select_from(q)
            .where(q.source.startswith(source_prefix, autoescape=True), q.created_at >= since))
    with get_engine(url).connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def open_triggers(url: str, since: datetime) -> list[dict[str, Any]]:
    """Triggers since ``since`` whose retrain has not finished (fired or running)."""
    frame = triggers(url, since)
    return frame[frame["status"].isin(["fired", "running"])].to_dict("records")
