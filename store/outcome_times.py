"""When, in data time, live outcomes became known: what a monitoring catch-up needs to judge a past window as it
looked then (:func:`ml.monitoring.due_passes`, :func:`ml.monitoring.as_of_window`).

A volatility forecast's ``actual`` is known at the ``h``-th bar after its origin (computed from the bars, no
query); a scored signal's triple-barrier outcome at the bar its barrier was touched, ``MLSignalOutcome.exit_ts``.
Kept apart from :mod:`store.monitoring` (its window queries stay as they are).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from store.db import get_engine
from store.models import MarketBar, MLSignalOutcome


def signal_exit_times(url: str, score_ids: Iterable[int]) -> dict[int, datetime | None]:
    """``exit_ts`` of the resolved outcomes of the given scored signals (score id -> exit bar; absent: unresolved)."""
    ids = sorted({int(i) for i in score_ids})
    out: dict[int, datetime | None] = {}
    o = MLSignalOutcome
    with get_engine(url).connect() as conn:
        for chunk in range(0, len(ids), 900):  # SQLite's bound-parameter limit
            stmt = select(o.score_id, o.exit_ts).where(o.score_id.in_(ids[chunk:chunk + 900]))
            out.update({int(r.score_id): r.exit_ts for r in conn.execute(stmt)})
    return out


def bar_times(url: str, symbols: list[str], timeframe: str, after: datetime | None = None) -> list[datetime]:
    """Distinct stored bar timestamps of ``symbols``/``timeframe`` (after ``after`` when given), oldest first."""
    if not symbols:
        return []
    b = MarketBar
    cond = [b.symbol.in_(list(symbols)), b.timeframe == timeframe]
    if after is not None:
        cond.append(b.ts > after)
    with get_engine(url).connect() as conn:
        return [r[0] for r in conn.execute(select(b.ts).where(*cond).distinct().order_by(b.ts))]
