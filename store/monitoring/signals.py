"""Scored signals: the signals to resolve, their outcomes, the live window of a model with outcomes."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import and_, desc, select

from store.db import get_engine
from store.models import MLSignalOutcome, MLSignalScore, utcnow
from store.monitoring.series import _series

PLAN_KEYS = ("pt_mult", "sl_mult", "max_holding")



def unresolved_signals(url: str, symbols: list[str] | None = None,
                       timeframes: list[str] | None = None) -> pd.DataFrame:
    """Scored signals with a side and a signal bar but no outcome row yet, not caller-supplied (optionally of some
    series only): id, symbol, timeframe, side, signal_ts and the trade plan's ``pt_mult``, ``sl_mult``,
    ``max_holding`` (NaN: none)."""
    s, o = MLSignalScore, MLSignalOutcome
    cond = _series([o.id.is_(None), s.signal_ts.is_not(None), s.side.is_not(None), s.caller_supplied.is_(False)], s,
                   symbols, timeframes)
    stmt = (select(s.id, s.symbol, s.timeframe, s.side, s.signal_ts, s.plan)
            .outerjoin(o, o.score_id == s.id)
            .where(*cond)
            .order_by(s.symbol, s.timeframe, s.signal_ts))
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["id", "symbol", "timeframe", "side", "signal_ts", "plan"])
    frame["signal_ts"] = pd.to_datetime(frame["signal_ts"])
    plans = frame.pop("plan")
    for key in PLAN_KEYS:
        frame[key] = [float((p or {}).get(key) or "nan") for p in plans]
    return frame


def save_signal_outcomes(url: str, rows: list[dict[str, Any]]) -> int:
    """Insert outcome rows (``score_id, outcome, realised_return, barrier, exit_ts``); returns the count."""
    if not rows:
        return 0
    now = utcnow()
    with get_engine(url).begin() as conn:
        conn.execute(MLSignalOutcome.__table__.insert(), [{"resolved_at": now, **r} for r in rows])
    return len(rows)


def signal_window(url: str, model_name: str, model_version: str | None = None, last: int = 500) -> pd.DataFrame:
    """The newest ``last`` live scored signals of ``model_name`` (not caller-supplied) with their outcomes (NaN when
    unresolved).

    Columns: id, symbol, timeframe, strategy, side, signal_ts, score, prediction, taken (BUY/SELL = the user acted),
    model_version, features, outcome, realised_return. No user identifier is returned.
    """
    s, o = MLSignalScore, MLSignalOutcome
    cond = [s.model_name == model_name, s.caller_supplied.is_(False)]
    if model_version is not None:
        cond.append(s.model_version == str(model_version))
    stmt = (select(s.id, s.symbol, s.timeframe, s.strategy, s.side, s.signal_ts, s.score, s.prediction,
                   s.model_version, s.features, o.outcome, o.realised_return)
            .outerjoin(o, o.score_id == s.id).where(and_(*cond)).order_by(desc(s.created_at), desc(s.id)).limit(last))
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    cols = ["id", "symbol", "timeframe", "strategy", "side", "signal_ts", "score", "prediction", "model_version",
            "features", "outcome", "realised_return"]
    frame = pd.DataFrame(rows, columns=cols).iloc[::-1].reset_index(drop=True)
    frame["taken"] = frame["prediction"].isin(["BUY", "SELL"])
    for col in ("score", "outcome", "realised_return"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    return frame

