"""End each flow run as soon as its work is done (a fix for Prefect 3.9's flow-run heartbeat thread).

Prefect 3.9 runs a heartbeat thread per flow run (``prefect.flow_engine._send_heartbeats``; heartbeats
let the server spot crashed runs, every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` = 180 s by default). The
thread waits between heartbeats in whole-second ``time.sleep(1)`` steps, and a sync flow run joins it on
exit, so **every flow run ends up to a second late** after its last line: ~1 s per run of an empty flow,
and ~1 s for each of the nested flows of a pipeline.

:func:`install` replaces ``_send_heartbeats`` with the same logic waiting on the stop event instead,
so the thread stops the moment the run ends. It only patches a ``_send_heartbeats`` whose source still
has that sleep loop, so a changed Prefect release is left alone. Kept: Prefect 3.9 has no public setting for
this (``PREFECT_FLOWS_HEARTBEAT_FREQUENCY`` must be >= 30 s and cannot be unset from the environment, and the
exit waits for the current 1 s sleep whatever the frequency). Installed by the entry points through
:func:`flows.patches.install`, never on import.
"""

from __future__ import annotations

import contextvars
import inspect
import threading
from collections.abc import Generator
from contextlib import contextmanager
from typing import Any

_MARK = "_abtpro_stops_at_once"
SLEEPY_LINE = "time.sleep(1)"


@contextmanager
def _send_heartbeats(engine: Any, join_on_exit: bool = True) -> Generator[None, None, None]:
    """``prefect.flow_engine._send_heartbeats`` of Prefect 3.9, waiting on the stop event between heartbeats."""
    from prefect import flow_engine

    heartbeat_seconds = engine.heartbeat_seconds
    if heartbeat_seconds is None:
        yield
        return
    heartbeat_seconds = max(heartbeat_seconds, flow_engine.MINIMUM_HEARTBEAT_INTERVAL)
    resource, related = engine._build_heartbeat_event_template()
    stop_event = threading.Event()

    def heartbeat_loop() -> None:
        while not stop_event.is_set():
            if engine.flow_run and engine.flow_run.state and engine.flow_run.state.is_final():
                return
            try:
                engine._emit_flow_run_heartbeat(resource, related)
            except Exception:  # as upstream: a missed heartbeat must not fail the run
                engine.logger.debug("Failed to emit heartbeat", exc_info=True)
            stop_event.wait(heartbeat_seconds)  # returns at once when the run ends

    # the thread sees the caller's context (and so its settings and API URL), as upstream
    thread = threading.Thread(target=contextvars.copy_context().run, args=(heartbeat_loop,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop_event.set()
        if join_on_exit:
            thread.join(timeout=2)


def install() -> bool:
    """Patch Prefect's flow-run heartbeats if they sleep in whole seconds; True when they are (now) patched."""
    from prefect import flow_engine

    current = getattr(flow_engine, "_send_heartbeats", None)
    if current is None:
        return False
    if getattr(current, _MARK, False):
        return True
    try:
        source = inspect.getsource(current)
    except (OSError, TypeError):
        return False
    if SLEEPY_LINE not in source or "stop_event" not in source:  # Prefect changed it: leave it as it is
        return False
    setattr(_send_heartbeats, _MARK, True)
    flow_engine._send_heartbeats = _send_heartbeats
    return True
