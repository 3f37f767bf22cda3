"""``POST /ml/signal/outcome``: the platform reports what happened to a signal it had scored.

The report replaces the outcome the backfill would resolve (or has resolved) by triple barrier, it counts at once
in the series' win rate of similar signals (:class:`serving.inference.OutcomeHistory`) and in monitoring, and it is
audited. A caller reports only its own signals (admins: any); another user's signal is a 404, as if unknown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import bentoml

from serving.http import caller, guarded
from serving.inference import BadInputError, NotFoundError
from serving.schemas import SignalOutcomeRequest, SignalOutcomeResult
from store import outcomes, records
from store.users import ApiUser


def _naive_utc(ts: datetime) -> datetime:
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo else ts


def resolve_report(signal: outcomes.ScoredSignal, request: SignalOutcomeRequest,
                   now: datetime) -> tuple[float | None, float | None, datetime | None, str]:
    """(outcome, realised return, exit time, barrier) of a report; BadInputError naming the field otherwise."""
    if not request.filled:
        return None, None, None, outcomes.UNFILLED
    if request.exit_ts is None:
        raise BadInputError("exit_ts", "a filled trade needs exit_ts")
    exit_ts = _naive_utc(request.exit_ts)
    if signal.signal_ts is not None and exit_ts < signal.signal_ts:
        raise BadInputError("exit_ts", f"exit_ts {exit_ts.isoformat()} is before the signal bar "
                                       f"{signal.signal_ts.isoformat()}")
    if exit_ts > now + timedelta(minutes=5):
        raise BadInputError("exit_ts", f"exit_ts {exit_ts.isoformat()} is in the future")
    if request.realised_return is not None:
        ret = float(request.realised_return)
    elif request.exit_price is not None:
        if signal.entry_close is None:
            raise BadInputError("exit_price", "the signal bar is not stored, so the entry is unknown: "
                                              "report realised_return instead")
        ret = signal.side * (float(request.exit_price) / signal.entry_close - 1.0)
    else:
        raise BadInputError("exit_price", "a filled trade needs exit_price or realised_return")
    return (1.0 if ret > 0 else 0.0), ret, exit_ts, outcomes.REPORTED


class OutcomeRoutes:
    """POST ``/ml/signal/outcome``."""

    def _report_outcome(self, request: SignalOutcomeRequest, user: ApiUser) -> SignalOutcomeResult:
        signal = outcomes.scored_signal(self.db_url, request.signal_id)
        if signal is None or (signal.user_id != user.id and not user.is_admin):
            raise NotFoundError(f"no scored signal {request.signal_id} of this user")
        outcome, ret, exit_ts, barrier = resolve_report(signal, request, datetime.now(UTC).replace(tzinfo=None))
        replaced = outcomes.report_outcome(self.db_url, signal.id, outcome, ret, exit_ts, barrier)
        self.outcome_history.forget(signal.symbol, signal.timeframe)
        records.audit(self.db_url, user.name, "signal.outcome", str(signal.id),
                      {"outcome": outcome, "realised_return": ret, "barrier": barrier, "replaced": replaced})
        return SignalOutcomeResult(signal_id=signal.id, outcome=outcome, realised_return=ret, exit_ts=exit_ts,
                                   source=barrier, replaced=replaced)

    @bentoml.api(route="/ml/signal/outcome")
    def signal_outcome(self, request: SignalOutcomeRequest, /, ctx: bentoml.Context) -> SignalOutcomeResult:
        """Report what happened to a scored signal: filled or not, and its exit (price or return)."""
        user = caller(ctx)
        return guarded(lambda: self._report_outcome(request, user), ctx)
