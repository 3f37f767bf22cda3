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
when the request finishes (a cancelled handle drops its callback, future and context at once).

Kept because BentoML 1.4.40 has no public way to the same end: ``traffic={"timeout": ...}`` must be a
positive number (default 60 s), so the middleware is always there, and it wraps every ASGI middleware a
service adds (``add_asgi_middleware``); a shorter timeout only shrinks the leak and 504s slow requests
sooner. Written for BentoML 1.4 (pinned ``bentoml>=1.4.40,<1.5`` in pyproject.toml): :func:`install`
patches only the ``TimeoutMiddleware`` whose source hashes to :data:`UPSTREAM_SHA256` (BentoML 1.4.40's)
and leaves any other release alone; ``tests/serving/test_request_timeout.py`` fails when the installed
BentoML's differs, so an upgrade re-checks whether the fix is still needed. The service entry
(:mod:`serving.service`) calls :func:`install` once, explicitly; nothing else installs it.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
from typing import Any

from starlette.responses import JSONResponse

_MARK = "_abtpro_cancels_timer"
WRITTEN_FOR = "1.4."  # the BentoML minor release (see pyproject.toml)
UPSTREAM_SHA256 = "4dab3e6bdd06efc590294d89beed9a399be6959b62bce9da024b33292e1be34b"  # TimeoutMiddleware, 1.4.40


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


def upstream_digest() -> str:
    """SHA-256 of the installed BentoML's ``TimeoutMiddleware`` source as released (read from its file, so the
    same before and after :func:`install`)."""
    from bentoml._internal.server.http import traffic

    return hashlib.sha256(inspect.getsource(traffic.TimeoutMiddleware).encode()).hexdigest()


def install() -> bool:
    """Patch BentoML's ``TimeoutMiddleware`` if it is the release this fix was written for; True when it is
    (now) patched."""
    from bentoml._internal.server.http import traffic

    cls = traffic.TimeoutMiddleware
    if getattr(cls, _MARK, False):
        return True
    try:
        digest = upstream_digest()
    except (OSError, TypeError):
        return False
    if digest != UPSTREAM_SHA256:  # BentoML changed this middleware: leave it as it is
        return False
    cls.__call__ = _call
    setattr(cls, _MARK, True)
    return True
