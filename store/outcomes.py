"""Outcomes of scored signals reported by the platform, and the resolved outcomes the win-rate factor reads.

A signal's outcome row (``ml_signal_outcomes``, one per scored signal) comes from one of two places: the
platform reports what happened (``barrier`` ``reported``, or ``unfilled`` for a signal that was never executed,
whose outcome is NULL), or the outcome backfill resolves it by triple barrier on the stored bars (``pt``,
``sl``, ``vertical``). A report replaces a triple-barrier row: what the platform saw wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy import delete, select

from store.db import get_engine
from store.models import MarketBar, MLSignalOutcome, MLSignalScore, utcnow

REPORTED, UNFILLED = "reported", "unfilled"


@dataclass(frozen=True)
class ScoredSignal:
    id: int
    user_id: int
    symbol: str
    timeframe: str
    strategy: str
    side: int  # +1 BUY, -1 SELL
    signal_ts: datetime | None
    entry_close: float | None  # close of the signal bar (the entry of a signal acted on at its close)


def scored_signal(url: str, score_id: int) -> ScoredSignal | None:
    """The scored signal ``score_id`` with the close of its bar, or None."""
    s, b = MLSignalScore, MarketBar
    stmt = (select(s.id, s.user_id, s.symbol, s.timeframe, s.strategy, s.side, s.signal_ts, b.close)
            .outerjoin(b, (b.symbol == s.symbol) & (b.timeframe == s.timeframe) & (b.ts == s.signal_ts))
            .where(s.id == score_id))
    with get_engine(url).connect() as conn:
        row = conn.execute(stmt).first()
    if row is None:
        return None
    return ScoredSignal(row.id, row.user_id, row.symbol, row.timeframe, row.strategy,
                        1 if row.side == "BUY" else -1, row.signal_ts, None if row.close is None else float(row.close))


def report_outcome(url: str, score_id: int, outcome: float | None, realised_return: float | None,
                   exit_ts: datetime | None, barrier: str) -> str | None:
    """Store the platform's outcome of ``score_id``, replacing any earlier row; returns the replaced row's
    ``barrier`` (None when there was none)."""
    with get_engine(url).begin() as conn:
        previous = conn.execute(select(MLSignalOutcome.barrier).where(MLSignalOutcome.score_id == score_id)).first()
        conn.execute(delete(MLSignalOutcome).where(MLSignalOutcome.score_id == score_id))
        conn.execute(MLSignalOutcome.__table__.insert(), [{
            "score_id": score_id, "outcome": outcome, "realised_return": realised_return, "exit_ts": exit_ts,
            "barrier": barrier, "resolved_at": utcnow()}])
    return None if previous is None else previous.barrier


def resolved_history(url: str, symbol: str, timeframe: str) -> pd.DataFrame:
    """Resolved outcomes of the series' scored signals, as the win-rate factor reads them: ``strategy``,
    ``side`` (+1/-1), ``exit_time``, ``label`` (1/0), ``ret``. The factor only counts outcomes whose
    ``exit_time`` is before the signal it scores, so the whole table can be passed (leak-free). Scores computed
    from caller-supplied bars are not the series' own and are left out."""
    s, o = MLSignalScore, MLSignalOutcome
    stmt = (select(s.strategy, s.side, o.exit_ts, o.outcome, o.realised_return)
            .join(o, o.score_id == s.id)
            .where(s.symbol == symbol, s.timeframe == timeframe, o.outcome.is_not(None), o.exit_ts.is_not(None),
                   s.caller_supplied.is_(False))
            .order_by(o.exit_ts))
    with get_engine(url).connect() as conn:
        rows = conn.execute(stmt).all()
    frame = pd.DataFrame(rows, columns=["strategy", "side", "exit_time", "label", "ret"])
    frame["side"] = frame["side"].map({"BUY": 1, "SELL": -1}).astype("int64")
    frame["exit_time"] = pd.to_datetime(frame["exit_time"])
    frame["label"] = pd.to_numeric(frame["label"]).astype("float64")
    frame["ret"] = pd.to_numeric(frame["ret"]).astype("float64")
    return frame

