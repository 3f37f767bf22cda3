"""Answers of the newest bar computed before anyone asks: at start, and again when new bars arrive.

A series' first answers after its bars change are cold: the signal scorer's bar context and each strategy's
features (~20-40 ms each on a 2-core VM) and the volatility forecast are computed from the new window, and
every request that arrives meanwhile queues behind them. That burst is the service's p99 at a steady
100 req/s (``benchmarks/RESULTS.md``, "Capacity"), and in production it lands exactly when it hurts: right
after a bar closes, when every strategy asks at once.

:class:`AnswerWarmer` is a daemon thread that reads the revisions of the most recently written series
(:func:`store.windows.series_revisions`, one query per ``interval``) and, for each series whose revision or
champion versions changed since it last looked, calls ``warm(symbol, timeframe)``. The service's ``warm``
(:meth:`serving.service.MLService.warm_series`) runs the routes' own answer path (``_volatility_answers`` /
``_signal_answers``) for the default request of the newest bar: the volatility forecast and every built-in
strategy on both sides. So the answer and context caches hold exactly what those requests compute, and nothing
is stored: a warmed answer is a prediction only when a caller asks for it (and then it is stored as usual).
Requests with other settings (``explain``, a trade plan, a strength other than 1, an older bar) stay cold.

A failure to warm (no champion yet, too few bars, a database hiccup) is logged at debug level and tried again
at the series' next change (new bars, or a champion loaded or swapped), not at every look: a series that cannot be
answered costs nothing once. Warming never affects an answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable

logger = logging.getLogger(__name__)


class AnswerWarmer:
    """A daemon thread calling ``warm(symbol, timeframe)`` for every recently written series whose state changed.

    Args:
        revisions: ``() -> [(symbol, timeframe, revision), ...]``, the series to keep warm (newest first).
        warm: Computes (and caches) the series' default answers of its newest bar.
        versions: ``() -> a hashable`` naming the champions served; a change re-warms every series.
        interval: Seconds between looks; the first look is at :meth:`start`.
        min_gap: Fewest seconds between two warm-ups of one series: a feed that rewrites a series several times
            a second (a replay, a backfill) is warmed at this pace, not at every write, so the warm-up never
            takes more than a share of a core. A live feed's bars arrive far less often.
        clock: Monotonic seconds (tests pass their own).
    """

    def __init__(self, revisions: Callable[[], list[tuple[str, str, int]]], warm: Callable[[str, str], None],
                 versions: Callable[[], Hashable] = lambda: None, interval: float = 1.0, min_gap: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        self.revisions, self.warm, self.versions, self.interval = revisions, warm, versions, interval
        self.min_gap, self.clock = min_gap, clock
        self.warmed: dict[tuple[str, str], tuple[int, Hashable]] = {}  # series -> (revision, versions) warmed
        self.last: dict[tuple[str, str], float] = {}  # series -> clock of its last warm-up
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[tuple[str, str]]:
        """One look: warm every series whose revision or champions changed; returns the series warmed (a failed
        one is not listed, and is tried again at its next change)."""
        try:
            series, versions = self.revisions(), self.versions()
        except Exception as exc:  # noqa: BLE001 - the database may be restarting: look again next time
            logger.debug("answer warm-up: could not read the series: %s", exc)
            return []
        done = []
        for symbol, timeframe, revision in series:
            if self._stop.is_set():
                break
            state, key = (revision, versions), (symbol, timeframe)
            if self.warmed.get(key) == state:
                continue
            now = self.clock()
            if key in self.last and now - self.last[key] < self.min_gap:
                continue  # warmed moments ago: a later look takes the newest revision
            self.warmed[key], self.last[key] = state, now  # tried: the next change tries again, success or not
            try:
                self.warm(symbol, timeframe)
            except Exception as exc:  # noqa: BLE001 - e.g. no champion yet: loading one is a change
                logger.debug("answer warm-up of %s %s failed: %s", symbol, timeframe, exc)
                continue
            done.append((symbol, timeframe))
        return done

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._stop.wait(self.interval)

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="abtpro-answer-warmer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Ask the thread to stop after the series it is warming."""
        self._stop.set()
