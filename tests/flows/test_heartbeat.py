"""flows.heartbeat: a flow run's heartbeat thread stops the moment the run ends (Prefect 3.9 slept up to 1 s)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest

from prefect import flow_engine

from flows import heartbeat


class FakeEngine:
    """What ``_send_heartbeats`` uses of a flow run engine; counts the heartbeats it emits."""

    heartbeat_seconds = 30
    flow_run = None
    logger = SimpleNamespace(debug=lambda *args, **kwargs: None)

    def __init__(self) -> None:
        self.emitted = threading.Event()
        self.count = 0

    def _build_heartbeat_event_template(self):
        return {"prefect.resource.id": "prefect.flow-run.fake"}, []

    def _emit_flow_run_heartbeat(self, resource, related) -> None:
        self.count += 1
        self.emitted.set()


@pytest.fixture(autouse=True)
def _installed():
    assert heartbeat.install() is True  # as the entry points do (flows.patches)


def test_install_puts_the_fix_in_place():
    assert flow_engine._send_heartbeats is heartbeat._send_heartbeats
    assert heartbeat.install() is True  # idempotent


def test_heartbeats_are_emitted_and_the_thread_stops_at_once_when_the_run_ends():
    engine = FakeEngine()
    before = set(threading.enumerate())
    with flow_engine._send_heartbeats(engine):
        assert engine.emitted.wait(5)  # the first heartbeat goes out when the run starts
        (thread,) = set(threading.enumerate()) - before
    assert not thread.is_alive()
    assert engine.count == 1  # the next one would be 30 s later


def test_ending_a_run_does_not_wait_for_the_heartbeat_thread_to_wake():
    engine = FakeEngine()
    with flow_engine._send_heartbeats(engine):
        engine.emitted.wait(5)
        ending = time.perf_counter()
    # Prefect 3.9's loop slept in 1 s steps, so this exit took up to a second; the event wakes it at once
    assert time.perf_counter() - ending < 0.5


def test_no_heartbeats_when_they_are_switched_off():
    engine = FakeEngine()
    engine.heartbeat_seconds = None
    before = threading.active_count()
    with flow_engine._send_heartbeats(engine):
        assert threading.active_count() == before
    assert engine.count == 0


def test_a_changed_prefect_is_left_alone(monkeypatch):
    def _send_heartbeats(engine, join_on_exit=True):  # a release without the sleep loop
        raise NotImplementedError

    monkeypatch.setattr(flow_engine, "_send_heartbeats", _send_heartbeats)
    assert heartbeat.install() is False
    assert flow_engine._send_heartbeats is _send_heartbeats
