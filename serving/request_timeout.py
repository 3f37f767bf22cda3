"""Cancel BentoML's per-request timeout timer when the request ends (a tail-latency fix for BentoML 1.4).

BentoML 1.4's ``TimeoutMiddleware`` (``bentoml._internal.server.http.traffic``) arms
``loop.call_later(traffic.timeout, ...)`` for every request and never cancels it. Each pending timer
keeps the request's waiter future and a copy of its ``contextvars`` context (with the request's
OpenTelemetry span) alive for the whole timeout: at 100 req/s and a 120 s timeout that is ~12,000
requests' worth of objects (~20 each) in the heap. Python's full (generation-2) garbage collections
then walk that ever-growing heap and stop every request thread for 50-250 ms each time, which was the
signal endpoint's p99 in ``benchmarks/bench_serving.py`` (the volatility scenario ran first, on a
smaller heap).

:func:`install` replaces the middleware's ``__call__`` with the same logic plus ``timer.cancel()``
when the request finishes (a cancelled handle drops its callback, future and context at once). It
only patches a ``TimeoutMiddleware`` whose source still has that ``call_later`` line, so a changed
BentoML release is left alone.
"""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from starlette.responses import JSONResponse

_MARK = "_abtpro_cancels_timer"
LEAKY_LINE = "loop.call_later(self.timeout, self._set_timer_out, waiter)"


async def _call(self: Any, scope: dict, receive: Any, send: Any) -> None:
    """``TimeoutMiddleware.__call__`` of BentoML 1.4, with the timer cancelled once the request is done."""
    if scope["type"] not in ("http", "websocket"):
        return await self.app(scope, receive, send)
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    timer = loop.call_later(self.timeout, self._set_timer_out, waiter)

    async def _send(message: Any) -> None:
        if not waiter.done():
            waiter.set_result(None)
        await send(message)

    fut = asyncio.ensure_future(self.app(scope, receive, _send), loop=loop)
    try:
        try:
            await waiter
        except TimeoutError:  # asyncio.TimeoutError is TimeoutError on Python 3.11+
            if fut.cancel():
                resp = JSONResponse({"error": f"Not able to process the request in {self.timeout} seconds"},
                                    status_code=504)
                await resp(scope, receive, send)
        else:
            await fut  # wait for the response to finish
    finally:
        timer.cancel()


def install() -> bool:
    """Patch BentoML's ``TimeoutMiddleware`` if it has the leak; True when it is (now) patched."""
    from bentoml._internal.server.http import traffic

    cls = traffic.TimeoutMiddleware
    if getattr(cls, _MARK, False):
        return True
    try:
        source = inspect.getsource(cls.__call__)
    except (OSError, TypeError):
        return False
    if LEAKY_LINE not in source:  # BentoML changed this middleware: leave it as it is
        return False
    cls.__call__ = _call
    setattr(cls, _MARK, True)
    return True
