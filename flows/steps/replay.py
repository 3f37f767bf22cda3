"""The steps of the market replay (:mod:`flows.replay`): an HTTP client of the running service (the feed that
pushes bars and the app that scores signals and asks for forecasts), and the wait for the live loop.

The replay drives nothing but the service: the outcome backfill, monitoring, retraining and promotion run on
their own Prefect triggers (``abtpro.bars.arrived`` -> ``monitoring-loop``: backfill, then monitoring ->
``abtpro.model.drift`` -> ``retrain-model``). The waits only watch the Prefect API: at a pace point
:func:`wait_until_covered` waits until the loop has covered the bars of the pace point before, so it is at most two
``pace_bars`` behind the feed while its runs overlap the feed's steps; at the first pace point and after the last
step :func:`drain_loop` waits until the runs the last push started have finished (monitoring records the weekly
passes of the bars by catching up, each as of its own bar).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd

from ml.replay import AppSignal

LOOP_DEPLOYMENTS = ("monitoring-loop", "backfill-outcomes", "monitor-models")
ACTIVE_STATES = ("SCHEDULED", "PENDING", "RUNNING")


@dataclass
class ReplayCounts:
    """What the replay sent and what the service answered."""

    bars_sent: int = 0
    bars_inserted: int = 0
    bars_merged: int = 0
    bars_quarantined: int = 0
    pushes: int = 0
    events: int = 0
    signals_scored: int = 0
    forecasts: int = 0
    errors: Counter = field(default_factory=Counter)
    versions: Counter = field(default_factory=Counter)  # "<model> v<version>" -> answers
    seconds: Counter = field(default_factory=Counter)  # part of a step (push, app, score, forecast, loop) -> wall s


class ServiceClient:
    """The feed (``POST /ml/bars`` with a feeder key) and the app (scores and forecasts with a user key)."""

    def __init__(self, base_url: str, feeder_key: str, app_key: str, timeout: float = 30.0) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=timeout)
        self.feeder, self.app = {"X-API-Key": feeder_key}, {"X-API-Key": app_key}
        self.counts = ReplayCounts()

    def close(self) -> None:
        self.http.close()

    def _post(self, path: str, body: dict, headers: dict) -> dict | None:
        for attempt in range(4):
            try:
                response = self.http.post(path, json=body, headers=headers)
            except httpx.TransportError as err:
                error = type(err).__name__
            else:
                if response.status_code == 200:
                    return response.json()
                error = f"{path} {response.status_code}"
                if response.status_code != 503:
                    break
            time.sleep(0.5 * 2**attempt)
        self.counts.errors[error] += 1
        return None

    def push(self, bars: pd.DataFrame) -> dict | None:
        """Push one step's bars; counts what was stored and quarantined."""
        rows = bars.assign(ts=pd.to_datetime(bars["ts"]).dt.strftime("%Y-%m-%dT%H:%M:%S")).to_dict("records")
        answer = self._post("/ml/bars", {"bars": rows, "source": "replay"}, self.feeder)
        self.counts.bars_sent += len(rows)
        self.counts.pushes += 1
        if answer is not None:
            self.counts.bars_inserted += int(answer.get("inserted", 0))
            self.counts.bars_merged += int(answer.get("merged", 0))
            self.counts.bars_quarantined += int(answer.get("quarantined", 0))
            self.counts.events += answer.get("event_id") is not None
        return answer

    def _seen(self, answer: dict | None, n: int = 1) -> None:
        model = (answer or {}).get("model") or {}
        if model.get("name"):
            self.counts.versions[f"{model['name']} v{model.get('version')}"] += n

    @staticmethod
    def _signal(signal: AppSignal) -> dict:
        return {"symbol": signal.symbol, "timeframe": signal.timeframe, "strategy": signal.strategy,
                "side": signal.side, "ts": signal.ts.isoformat(), "strength": signal.strength}

    def score(self, signal: AppSignal) -> dict | None:
        """Ask the service to score a signal before "trading" it (stored like any app's request)."""
        answer = self._post("/ml/signal/score", self._signal(signal), self.app)
        self.counts.signals_scored += answer is not None
        self._seen(answer)
        return answer

    def score_batch(self, signals: list[AppSignal]) -> dict | None:
        """Score one step's signals in one call (``/ml/signal/score_batch``: one model version, each stored)."""
        if not signals:
            return None
        answer = self._post("/ml/signal/score_batch", {"signals": [self._signal(s) for s in signals]}, self.app)
        scored = len((answer or {}).get("scores") or [])
        self.counts.signals_scored += scored
        self._seen(answer, scored)
        return answer

    def forecast(self, symbol: str, timeframe: str, as_of: pd.Timestamp) -> dict | None:
        """Ask for the volatility forecast at ``as_of`` (position sizing)."""
        answer = self._post("/ml/volatility/predict", {"symbol": symbol, "timeframe": timeframe,
                                                       "as_of": as_of.isoformat()}, self.app)
        self.counts.forecasts += answer is not None
        self._seen(answer)
        return answer

    def forecast_batch(self, series: list[tuple[str, str, pd.Timestamp]]) -> dict | None:
        """The forecasts of one step's series in one call (``/ml/volatility/predict_batch``, each stored)."""
        if not series:
            return None
        body = {"requests": [{"symbol": s, "timeframe": tf, "as_of": ts.isoformat()} for s, tf, ts in series]}
        answer = self._post("/ml/volatility/predict_batch", body, self.app)
        made = len((answer or {}).get("predictions") or [])
        self.counts.forecasts += made
        self._seen(answer, made)
        return answer


def _loop_runs(since: datetime, names: tuple[str, ...]) -> list:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterName,
        FlowRunFilter,
        FlowRunFilterExpectedStartTime,
    )

    with get_client(sync_client=True) as client:
        return client.read_flow_runs(
            flow_run_filter=FlowRunFilter(expected_start_time=FlowRunFilterExpectedStartTime(after_=since)),
            deployment_filter=DeploymentFilter(name=DeploymentFilterName(any_=list(names))), limit=200)


def wait_for_loop(since: datetime, timeout: float = 90.0, settle: float = 3.0,
                  names: tuple[str, ...] = LOOP_DEPLOYMENTS, pushed_at: datetime | None = None) -> int:
    """Wait until the loop's runs started after ``since`` (timezone-aware) have finished; returns how many there were.

    Done as soon as none is active and a run created at or after ``pushed_at`` (the last push: its arrival event's
    run, whether it ran or was cancelled because one was running, which then catches its bars up) exists; without
    one, once nothing was active for ``settle`` seconds (a push that stored nothing new emits no event)."""
    _poll(since, names, timeout, settle, idle_needs_runs=True,
          done=lambda runs, active: not active and pushed_at is not None
          and any(r.created and r.created >= pushed_at for r in runs))
    return len(_started_by_now(_loop_runs(since, names)))


def wait_until_covered(since: datetime, pushed_at: datetime, timeout: float = 90.0, settle: float = 1.5,
                       names: tuple[str, ...] = LOOP_DEPLOYMENTS) -> bool:
    """Wait until the loop has covered the bars pushed by ``pushed_at``: a run of it that started after them has
    completed (its backfill read every bar stored by its start), or none of the runs since ``since`` was active for
    ``settle`` seconds (it drained what it was sent; the next push starts a run for anything left). Returns
    whether it was covered before ``timeout``."""
    return _poll(since, names, timeout, settle, idle_needs_runs=False,
                 done=lambda runs, active: _covering(runs, pushed_at))


def _poll(since: datetime, names: tuple[str, ...], timeout: float, settle: float, idle_needs_runs: bool,
          done: Callable[[list, bool], bool]) -> bool:
    """Poll the loop's runs since ``since`` every 0.3 s until ``done(runs, any active)`` or, with none active for
    ``settle`` seconds (and at least one run seen, with ``idle_needs_runs``), idle; False at ``timeout``."""
    deadline, quiet_since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        runs = _started_by_now(_loop_runs(since, names))
        active = any(r.state_type and r.state_type.value in ACTIVE_STATES for r in runs)
        if done(runs, active):
            return True
        if active:
            quiet_since = None
        else:
            quiet_since = quiet_since or time.monotonic()
            if (runs or not idle_needs_runs) and time.monotonic() - quiet_since >= settle:
                return True
        time.sleep(0.3)
    return False


def drain_loop(since: datetime, pushed_at: datetime, timeout: float = 90.0,
               names: tuple[str, ...] = LOOP_DEPLOYMENTS) -> int:
    """After the last push: wait until the loop's runs are done (:func:`wait_for_loop`); if none of them started
    after that push (its run was cancelled while one ran, and that one's catch-up rounds were used up), start a
    ``monitoring-loop`` run, as its daily schedule would, and wait for it. Returns the loop runs since ``since``."""
    runs = wait_for_loop(since, timeout=timeout, names=names, pushed_at=pushed_at)
    if _covering(_started_by_now(_loop_runs(since, names)), pushed_at):
        return runs
    from prefect.deployments import run_deployment

    from flows.loop import DEPLOYMENT

    asked = datetime.now(UTC)
    run_deployment(f"{DEPLOYMENT}/{DEPLOYMENT}", timeout=0)
    return wait_for_loop(since, timeout=timeout, names=names, pushed_at=asked)


def _covering(runs: list, pushed_at: datetime) -> bool:
    """Whether one of ``runs`` started after ``pushed_at`` and completed: its backfill read those bars."""
    return any(r.start_time and r.start_time >= pushed_at and r.state_type and r.state_type.value == "COMPLETED"
               for r in runs)


def _started_by_now(runs: list) -> list:
    """Runs due by now: the daily schedules' future runs (also after ``since``) are not the replay's."""
    soon = datetime.now(UTC) + timedelta(seconds=5)
    return [r for r in runs if r.expected_start_time is None or r.expected_start_time <= soon]
