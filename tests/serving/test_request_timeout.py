"""BentoML's per-request timeout timer is cancelled when the request ends (serving.request_timeout)."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import weakref

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
