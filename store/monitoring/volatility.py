"""Volatility predictions: the forecasts to resolve, their realised volatility, the live window of a model."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import and_, bindparam, desc, select, update

from store.db import get_engine
from store.models import VolatilityPrediction
from store.monitoring.series import _series


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

