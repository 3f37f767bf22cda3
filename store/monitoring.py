"""Reads and writes of monitoring: prediction outcomes, monitoring results and retrain-trigger records.

``model_performance`` is what ``GET /ml/models/performance`` shows: per model, the latest monitoring
results (live vs validation metrics, drift, decision) and the recent retrain triggers.

Predictions flagged ``caller_supplied`` (computed from bars a request carried, not the stored series) are
never live data: the outcome backfill (``unresolved_*``), live accuracy and drift (``*_window``) skip them.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, bindparam, desc, func, select, update

from store.db import get_engine, session_scope
from store.models import (
    MarketBar,
    MLSignalOutcome,
    MLSignalScore,
    ModelMonitoring,
    RetrainTrigger,
    VolatilityPrediction,
    utcnow,
)

_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}
FIRED_STATUSES = ("fired", "running", "completed", "failed")
PLAN_KEYS = ("pt_mult", "sl_mult", "max_holding")


def timeframe_minutes(timeframe: str) -> int:
    """Minutes in one bar of ``timeframe`` (``"1d"`` -> 1440): ``VolatilityPrediction.horizon`` is in minutes."""
    match = re.fullmatch(r"([1-9][0-9]*)([mhdw])", timeframe)
    if match is None:
        raise ValueError(f"bad timeframe {timeframe!r}")
    return int(match.group(1)) * _MINUTES[match.group(2)]


def horizon_bars(horizon_minutes: int, timeframe: str) -> int:
    """A stored horizon (minutes) in bars of ``timeframe`` (at least 1)."""
    return max(1, round(horizon_minutes / timeframe_minutes(timeframe)))


# --- volatility predictions -------------------------------------------------------------------------

def _series(cond: list, model: Any, symbols: list[str] | None, timeframes: list[str] | None) -> list:
    """``cond`` restricted to ``symbols`` / ``timeframes`` when given (None: all)."""
    if symbols is not None:
        cond.append(model.symbol.in_(list(symbols)))
    if timeframes is not None:
        cond.append(model.timeframe.in_(list(timeframes)))
    return cond


def unresolved_volatility(url: str, symbols: list[str] | None = None,
                          timeframes: list[str] | None = None) -> pd.DataFrame:
    """Forecasts still without ``actual`` (and with a known origin; not caller-supplied), optionally of some
    series only: id, symbol, timeframe, as_of, horizon."""
    m = VolatilityPrediction
    cond = _series([m.actual.is_(None), m.as_of.is_not(None), m.caller_supplied.is_(False)], m, symbols, timeframes)
    stmt = select(m.id, m.symbol, m.timeframe, m.as_of, m.horizon).where(*cond).order_by(m.symbol, m.timeframe, m.as_of)
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["id", "symbol", "timeframe", "as_of", "horizon"])
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame


def set_volatility_actuals(url: str, actuals: dict[int, float]) -> int:
    """Write ``actual`` of the given forecasts (id -> realised vol); returns the rows written."""
    if not actuals:
        return 0
    table = VolatilityPrediction.__table__
    stmt = update(table).where(table.c.id == bindparam("pid")).values(actual=bindparam("value"))
    with get_engine(url).begin() as conn:
        conn.execute(stmt, [{"pid": int(k), "value": float(v)} for k, v in actuals.items()])
    return len(actuals)


def volatility_window(url: str, model_name: str, model_version: str | None = None, last: int = 250) -> pd.DataFrame:
    """The newest ``last`` live forecasts of ``model_name`` (optionally one version; not caller-supplied), oldest
    first.

    Columns: id, symbol, timeframe, as_of, horizon, predicted, actual, lower, upper, model_version,
    created_at, features (the dict stored with the forecast).
    """
    m = VolatilityPrediction
    cond = [m.model_name == model_name, m.caller_supplied.is_(False)]
    if model_version is not None:
        cond.append(m.model_version == str(model_version))
    stmt = (select(m.id, m.symbol, m.timeframe, m.as_of, m.horizon, m.predicted, m.actual, m.lower, m.upper,
                   m.model_version, m.created_at, m.features)
            .where(and_(*cond)).order_by(desc(m.as_of), desc(m.id)).limit(last))
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    cols = ["id", "symbol", "timeframe", "as_of", "horizon", "predicted", "actual", "lower", "upper",
            "model_version", "created_at", "features"]
    frame = pd.DataFrame(rows, columns=cols).iloc[::-1].reset_index(drop=True)
    for col in ("predicted", "actual", "lower", "upper"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame


# --- scored signals ---------------------------------------------------------------------------------

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


# --- monitoring results -----------------------------------------------------------------------------

def save_monitoring(url: str, **values: Any) -> int:
    """Insert one ``ModelMonitoring`` row (column values as keywords); returns its id."""
    with session_scope(url) as session:
        row = ModelMonitoring(**values)
        session.add(row)
        session.flush()
        return row.id


def _as_dict(row: Any) -> dict[str, Any]:
    return {c.name: getattr(row, c.name) for c in row.__table__.columns}


def monitoring_history(url: str, model_name: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Newest monitoring results first (all models, or one)."""
    stmt = select(ModelMonitoring).order_by(desc(ModelMonitoring.created_at), desc(ModelMonitoring.id)).limit(limit)
    if model_name:
        stmt = stmt.where(ModelMonitoring.model_name == model_name)
    with session_scope(url) as session:
        return [_as_dict(r) for r in session.execute(stmt).scalars()]


# --- retrain triggers -------------------------------------------------------------------------------

def record_trigger(url: str, **values: Any) -> int:
    """Insert one ``RetrainTrigger`` row; returns its id."""
    values.setdefault("result", {})
    with session_scope(url) as session:
        row = RetrainTrigger(**values)
        session.add(row)
        session.flush()
        return row.id


def update_trigger(url: str, trigger_id: int, **values: Any) -> None:
    """Update a trigger row (status, flow_run_id, result, completed_at ...)."""
    with session_scope(url) as session:
        session.execute(update(RetrainTrigger).where(RetrainTrigger.id == trigger_id).values(**values))


def bars_between(url: str, symbols: list[str], timeframe: str, after: datetime | None,
                 upto: datetime | None) -> int:
    """Bars of data time of ``symbols``/``timeframe`` with ``after < ts <= upto`` (distinct bar timestamps).

    The unit of the data-time cooldown and of the spacing of monitoring passes; 0 when either bound is None."""
    if after is None or upto is None or not symbols:
        return 0
    b = MarketBar
    stmt = select(func.count(func.distinct(b.ts))).where(
        b.symbol.in_(list(symbols)), b.timeframe == timeframe, b.ts > after, b.ts <= upto)
    with get_engine(url).connect() as conn:
        return int(conn.execute(stmt).scalar_one())


def series_ingested_since(url: str, since: datetime) -> tuple[list[str], list[str]]:
    """Symbols and timeframes with bars stored (inserted or changed) at or after ``since`` (wall clock)."""
    b = MarketBar
    stmt = select(b.symbol, b.timeframe).where(b.ingested_at >= since).distinct()
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    return sorted({r.symbol for r in rows}), sorted({r.timeframe for r in rows})


def last_fired_data_ts(url: str, model_name: str) -> datetime | None:
    """``data_ts`` of the newest trigger of ``model_name`` that fired (suppressed ones do not count)."""
    stmt = (select(RetrainTrigger.data_ts).where(RetrainTrigger.model_name == model_name,
                                                 RetrainTrigger.status.in_(FIRED_STATUSES),
                                                 RetrainTrigger.data_ts.is_not(None))
            .order_by(desc(RetrainTrigger.data_ts), desc(RetrainTrigger.id)).limit(1))
    with get_engine(url).connect() as conn:
        return conn.execute(stmt).scalar_one_or_none()


def last_pass(url: str, model_name: str, model_version: str | None) -> dict[str, Any] | None:
    """The newest recorded monitoring pass of one model version (None: never monitored)."""
    m = ModelMonitoring
    stmt = (select(m.id, m.window_end, m.created_at).where(m.model_name == model_name,
                                                          m.model_version == str(model_version))
            .order_by(desc(m.created_at), desc(m.id)).limit(1))
    with get_engine(url).connect() as conn:
        row = conn.execute(stmt).first()
    return None if row is None else {"id": row.id, "window_end": row.window_end, "created_at": row.created_at}


def champion_triggers(url: str, model_name: str, model_version: str, open_hours: float = 6.0,
                      limit: int = 10) -> list[dict[str, Any]]:
    """The newest fired triggers that judged ``model_version`` of ``model_name``: id, whether its retrain is still
    open (fired or running, dispatched to a retrain, less than ``open_hours`` old) and whether it promoted."""
    t = RetrainTrigger
    stmt = (select(t.id, t.status, t.mode, t.created_at, t.result)
            .where(t.model_name == model_name, t.model_version == str(model_version), t.status.in_(FIRED_STATUSES))
            .order_by(desc(t.created_at), desc(t.id)).limit(limit))
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    now = utcnow()
    out = []
    for r in rows:
        is_open = (r.status in ("fired", "running") and r.mode in ("event", "direct")
                   and r.created_at is not None and (now - r.created_at).total_seconds() < open_hours * 3600)
        promoted = (r.result or {}).get("promoted") if r.status == "completed" else None
        out.append({"id": r.id, "open": is_open, "promoted": None if promoted is None else bool(promoted)})
    return out


def open_trigger(url: str, model_name: str) -> int | None:
    """The newest fired trigger of ``model_name`` that no retrain has picked up yet."""
    stmt = (select(RetrainTrigger.id).where(RetrainTrigger.model_name == model_name,
                                            RetrainTrigger.status == "fired")
            .order_by(desc(RetrainTrigger.created_at), desc(RetrainTrigger.id)).limit(1))
    with get_engine(url).connect() as conn:
        return conn.execute(stmt).scalar_one_or_none()


def trigger_history(url: str, model_name: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Newest retrain triggers first (all models, or one)."""
    stmt = select(RetrainTrigger).order_by(desc(RetrainTrigger.created_at), desc(RetrainTrigger.id)).limit(limit)
    if model_name:
        stmt = stmt.where(RetrainTrigger.model_name == model_name)
    with session_scope(url) as session:
        return [_as_dict(r) for r in session.execute(stmt).scalars()]


def model_performance(url: str, model_name: str | None = None, history: int = 10) -> dict[str, Any]:
    """Monitoring results for ``GET /ml/models/performance``.

    Returns:
        ``{"models": {name: {"latest": <newest monitoring row>, "history": [<older rows>...],
        "triggers": [<newest retrain triggers>...]}}}``; rows are plain dicts (datetimes as naive UTC).
    """
    rows = monitoring_history(url, model_name, limit=1000 if model_name is None else history)
    models: dict[str, Any] = {}
    for row in rows:
        entry = models.setdefault(row["model_name"], {"latest": row, "history": [], "triggers": []})
        if len(entry["history"]) < history:
            entry["history"].append({k: row[k] for k in ("id", "model_version", "created_at", "decision",
                                                         "n_resolved", "metrics", "reasons")})
    for name, entry in models.items():
        entry["triggers"] = trigger_history(url, name, limit=history)
    return {"models": models}
