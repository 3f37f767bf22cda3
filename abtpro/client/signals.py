"""The signal endpoints: score one or many signals, report an outcome, the caller's history and stats."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from abtpro.client.transport import MAX_SIGNALS, Transport, _chunks
from serving.schemas import (
    SignalBatchRequest,
    SignalBatchResponse,
    SignalHistory,
    SignalOutcomeRequest,
    SignalOutcomeResult,
    SignalRequest,
    SignalResult,
    SignalStats,
)


class SignalMethods(Transport):
    """``/ml/signal/*``."""

    def score_signal(self, symbol: str | None = None, strategy: str | None = None, side: str | None = None,
                     request: SignalRequest | None = None, **fields: Any) -> SignalResult:
        """Score one signal before executing it (``POST /ml/signal/score``): P(acting on it pays)."""
        request = request or SignalRequest(symbol=symbol, strategy=strategy, side=side, **fields)
        return self._call("POST", "/ml/signal/score", SignalResult, request)

    def score_signals(self, signals: Iterable[SignalRequest | dict[str, Any]]) -> list[SignalResult]:
        """Score many signals (``POST /ml/signal/score_batch``, split into calls of at most 1,000)."""
        items = [s if isinstance(s, SignalRequest) else SignalRequest(**s) for s in signals]
        out: list[SignalResult] = []
        for chunk in _chunks(items, MAX_SIGNALS):
            out += self._call("POST", "/ml/signal/score_batch", SignalBatchResponse,
                              SignalBatchRequest(signals=chunk)).scores
        return out

    def report_outcome(self, signal_id: int, filled: bool = True, **fields: Any) -> SignalOutcomeResult:
        """Report what happened to a scored signal (``POST /ml/signal/outcome``): ``exit_ts`` and ``exit_price``
        (or ``realised_return``) of a filled trade, or ``filled=False``."""
        return self._call("POST", "/ml/signal/outcome", SignalOutcomeResult,
                          SignalOutcomeRequest(signal_id=signal_id, filled=filled, **fields))

    def signal_history(self, **filters: Any) -> SignalHistory:
        """The caller's scored signals, newest first (``limit``, ``offset``, ``symbol``, ``strategy``, ...)."""
        return self._call("GET", "/ml/signal/history", SignalHistory, params=filters)

    def signal_stats(self, **filters: Any) -> SignalStats:
        """Aggregates of the caller's scored signals."""
        return self._call("GET", "/ml/signal/stats", SignalStats, params=filters)
