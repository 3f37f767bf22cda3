"""Keep-alive connections recycled after a number of requests, so the service's worker processes share the load.

``bentoml serve`` runs its worker processes on one shared listening socket: a connection belongs to the worker
that accepted it for as long as the client keeps it alive. An app with a small keep-alive pool (8 connections is
typical of an HTTP client library) therefore lands unevenly: measured on 2 workers, 7 of 8 connections on one
worker in two runs of three (`benchmarks/RESULTS.md`, "Capacity"), so one process did most of the work on one core
while the other idled. That split is random per run, which is why closed-loop throughput varied by 2x between
runs of the same code.

:class:`ConnectionRecycleMiddleware` answers every ``max_requests``-th request of a connection with
``Connection: close`` (the HTTP/1.1 way to end a keep-alive connection after a complete response; nginx's
``keepalive_requests`` does the same). The client opens a new connection for its next request, and the worker
that accepts it is the one whose event loop is free first, usually the less busy one. Nothing is lost or retried:
the closing answer is complete, and the next request goes on the new connection. The cost is one TCP handshake
per ``max_requests`` requests (``ABTPRO_SERVING_MAX_REQUESTS_PER_CONNECTION``; 0 keeps connections open for as
long as the client likes, the framework's behaviour).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

#: Requests a keep-alive connection serves before its answer says ``Connection: close``.
DEFAULT_MAX_REQUESTS_PER_CONNECTION = 100
_TRACKED = 4096  # connections counted at most per worker (the oldest counter is dropped beyond it)


class ConnectionRecycleMiddleware:
    """ASGI middleware: ``Connection: close`` on every ``max_requests``-th answer of a connection (0: never)."""

    def __init__(self, app: Any, max_requests: int | None = None):
        self.app = app
        if max_requests is None:
            from serving.config import get_serving_settings

            max_requests = get_serving_settings().max_requests_per_connection
        self.max_requests = int(max_requests)
        self._served: OrderedDict[tuple[Any, ...], int] = OrderedDict()  # (host, port) -> requests so far

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        client = scope.get("client")
        if scope["type"] != "http" or self.max_requests <= 0 or client is None:
            return await self.app(scope, receive, send)
        key = tuple(client)
        served = self._served.pop(key, 0) + 1  # the event loop is single-threaded: no lock needed
        if served < self.max_requests:
            self._served[key] = served
            if len(self._served) > _TRACKED:
                self._served.popitem(last=False)
            return await self.app(scope, receive, send)

        async def closing_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing_send)
