"""BentoML's per-request timeout timer is cancelled when the request ends (serving.request_timeout)."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import weakref

import bentoml
from bentoml._internal.server.http import traffic
from bentoml._internal.server.http.traffic import TimeoutMiddleware

import serving.service  # noqa: F401 - importing the service installs the fix
from serving import request_timeout


def _live_timers(loop: asyncio.AbstractEventLoop) -> list:
    return [h for h in loop._scheduled if not h.cancelled()]  # the loop's timer heap: the state under test


async def _request(app, path: str = "/x") -> list[dict]:
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app({"type": "http", "path": path, "method": "POST", "headers": []}, receive, send)
    return sent


class _Marker:
    """Stands for a request's objects in its context (BentoML's OpenTelemetry span) that a live timer keeps."""


REQUEST_STATE: contextvars.ContextVar[_Marker] = contextvars.ContextVar("request_state")


def test_the_service_module_installs_the_fix():
    assert TimeoutMiddleware.__call__ is request_timeout._call
    assert request_timeout.install()  # idempotent


def test_the_fix_was_written_for_the_installed_bentoml():
    """Fails on a BentoML upgrade that changes the patched middleware: check whether the leak is still there
    (``tests/serving/test_request_timeout.py`` below, against the released class), then update or drop the fix."""
    assert bentoml.__version__.startswith(request_timeout.WRITTEN_FOR), bentoml.__version__
    assert request_timeout.upstream_digest() == request_timeout.UPSTREAM_SHA256, (
        f"BentoML {bentoml.__version__} changed TimeoutMiddleware; serving.request_timeout leaves it unpatched")


def test_a_changed_middleware_is_left_alone(monkeypatch):
    class TimeoutMiddleware:  # a release whose middleware differs from 1.4.40's
        async def __call__(self, scope, receive, send):
            return None

    original = TimeoutMiddleware.__call__
    monkeypatch.setattr(traffic, "TimeoutMiddleware", TimeoutMiddleware)
    assert request_timeout.install() is False
    assert TimeoutMiddleware.__call__ is original


def test_finished_requests_leave_no_live_timer_or_request_state_behind():
    seen: list[weakref.ref] = []

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def one(middleware) -> list[dict]:  # a task per request, as the server runs them
        marker = _Marker()
        REQUEST_STATE.set(marker)
        seen.append(weakref.ref(marker))
        return await _request(middleware)

    async def main() -> tuple[int, list[list[dict]]]:
        middleware = TimeoutMiddleware(app, timeout=120)
        answers = [await asyncio.create_task(one(middleware)) for _ in range(200)]
        return len(_live_timers(asyncio.get_running_loop())), answers

    loop = asyncio.new_event_loop()
    try:
        live, answers = loop.run_until_complete(main())
        gc.collect()
        assert all(ref() is None for ref in seen)  # checked while the loop (and its timer heap) still exists
    finally:
        loop.close()
    assert len(seen) == 200 and live == 0
    assert all(a[0]["status"] == 200 and a[1]["body"] == b"ok" for a in answers)


def test_a_slow_request_still_times_out_with_504():
    async def slow(scope, receive, send):
        await asyncio.sleep(5)

    async def main() -> list[dict]:
        return await _request(TimeoutMiddleware(slow, timeout=0.05))

    sent = asyncio.run(main())
    assert sent[0]["status"] == 504 and b"Not able to process the request in 0.05 seconds" in sent[1]["body"]
