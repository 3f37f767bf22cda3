"""An unreachable app database answers 503 (with a clear message), never a 500 or a hang.

The store raises a :data:`store.db.DatabaseError` when the server is down, restarting, refusing connections
or has dropped ours, and :func:`store.db.is_unavailable` recognises those; the engine's pool replaces dead
connections on the next checkout, so the service recovers by itself once the database is back.

* :func:`is_db_unavailable` tells such errors from others (a constraint violation stays a 500);
* :class:`DatabaseUnavailableMiddleware` maps them to 503 for whatever runs inside it (the API-key lookup);
* handler bodies map them through ``serving.service.guarded``; FastAPI routes through :func:`fastapi_handler`.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from store.db import DatabaseError, is_unavailable

logger = logging.getLogger("abtpro.serving")

MESSAGE = "database unavailable: the app database cannot be reached right now; retry shortly"
RETRY_AFTER_SECONDS = "5"


def is_db_unavailable(exc: BaseException) -> bool:
    """True for errors meaning "cannot talk to the database" (as opposed to a bad statement or data)."""
    return is_unavailable(exc)


def log(exc: BaseException) -> None:
    logger.warning("%s (%s: %s)", MESSAGE, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")


async def fastapi_handler(_: Request, exc: Exception) -> JSONResponse:
    """FastAPI exception handler for :data:`store.db.DatabaseError`: 503 when the database is unreachable."""
    if not is_db_unavailable(exc):
        raise exc
    log(exc)
    return JSONResponse({"error": MESSAGE}, status_code=503, headers={"Retry-After": RETRY_AFTER_SECONDS})


class DatabaseUnavailableMiddleware:
    """ASGI middleware: a database-unreachable error raised before the response started becomes a 503."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def tracking_send(message: dict[str, Any]) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started or not is_db_unavailable(exc):
                raise
            log(exc)
            body = json.dumps({"error": MESSAGE}).encode()
            await send({"type": "http.response.start", "status": 503,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", b"5"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})


def install_fastapi(app: Any) -> None:
    """Register :func:`fastapi_handler` on a FastAPI app (the service's GET routes)."""
    app.add_exception_handler(DatabaseError, fastapi_handler)
