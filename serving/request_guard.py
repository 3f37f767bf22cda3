"""Hostile-input guards of the ``/ml`` POST endpoints, before BentoML parses anything, and one-line 4xx logs.

* :class:`RequestGuardMiddleware` (inside the API-key check, so an unauthenticated request is refused with
  401 before its body is read):

  - **Content negotiation.** The POST endpoints take JSON only: a ``Content-Type`` other than
    ``application/json`` (parameters such as ``charset`` allowed; ``multipart/form-data`` with or without a
    boundary, ``text/plain``, ``application/xml``, ``application/x-www-form-urlencoded``, ...) answers
    **415** ``{"error": ..., "expected": "application/json"}``. A request *without* a ``Content-Type`` is
    read as JSON (BentoML's default, and what ``curl -d`` without ``-H`` relies on): its body must still be
    valid JSON of the endpoint's schema, or it is a 422.
  - **Body size.** At most ``ABTPRO_SERVING_MAX_BODY_BYTES`` (default :data:`DEFAULT_MAX_BODY_BYTES`):
    a larger ``Content-Length`` answers **413** without reading the body; a body without one (chunked) is
    counted as it streams and refused with 413 as soon as it passes the limit. The body is buffered here
    (BentoML reads it whole anyway) and replayed to the app.

* :class:`ClientErrorLogMiddleware` (outermost) logs every 4xx answer of ``/ml`` in one line
  (``POST /ml/signal/score -> 422: invalid request: strength: ...``) on ``abtpro.serving``, and
  :func:`install_log_filter` drops the traceback BentoML logs for a request-validation error (it logs every
  ``pydantic.ValidationError`` with ``exc_info`` at ERROR); the one line above stands for it. Server errors
  (5xx) keep their tracebacks.
"""

from __future__ import annotations

import json
import logging
from typing import Any

logger = logging.getLogger("abtpro.serving")

JSON_TYPE = "application/json"
PROTECTED_PREFIX = "/ml"
#: 16 MiB: a 10,000-bar ``POST /ml/bars`` with full-precision floats is ~1.6 MB, and the largest inline-bar
#: batch the schemas allow (50,000 bars, :data:`serving.schemas.MAX_INLINE_BARS_PER_BATCH`) ~7.5 MB; see
#: ``tests/serving/test_hostile_input.py`` for the measurement.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
_BODY_METHODS = {"POST", "PUT", "PATCH"}
_LOGGED_BODY = 300  # characters of an error answer kept in its log line
_PARSED_BODY = 8192  # bytes of an error answer read for its "error" text


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


async def _send_json(send: Any, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


def media_type(content_type: str | None) -> str | None:
    """The media type of a ``Content-Type`` header, lower-case, without parameters (None: no header)."""
    if content_type is None:
        return None
    return content_type.split(";", 1)[0].strip().lower()


class RequestGuardMiddleware:
    """ASGI middleware: 415 for non-JSON bodies and 413 for bodies over ``max_body_bytes`` on ``/ml``."""

    def __init__(self, app: Any, max_body_bytes: int | None = None):
        self.app = app
        if max_body_bytes is None:
            from serving.config import get_serving_settings

            max_body_bytes = get_serving_settings().max_body_bytes
        self.max_body_bytes = int(max_body_bytes)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (scope["type"] != "http" or scope.get("method") not in _BODY_METHODS
                or not scope["path"].startswith(PROTECTED_PREFIX)):
            return await self.app(scope, receive, send)
        raw_type = _header(scope, b"content-type")
        kind = media_type(raw_type)
        if kind is not None and kind != JSON_TYPE:
            return await _send_json(send, 415, {
                "error": f"unsupported media type {raw_type!r}: {scope['method']} {scope['path']} takes a JSON "
                         f"body (Content-Type: {JSON_TYPE})", "expected": JSON_TYPE})
        length = _header(scope, b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                return await _send_json(send, 400, {"error": f"bad Content-Length {length!r}"})
            if declared > self.max_body_bytes:
                return await _send_json(send, 413, self._too_large(declared))
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                return await _send_json(send, 413, self._too_large(None))
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect as the app would

        await self.app(scope, replay, send)

    def _too_large(self, declared: int | None) -> dict[str, Any]:
        size = f"{declared:,} bytes" if declared is not None else "more"
        return {"error": f"request body too large: {size}, the limit is {self.max_body_bytes:,} bytes "
                         f"(ABTPRO_SERVING_MAX_BODY_BYTES); split the request", "limit": self.max_body_bytes}


class ClientErrorLogMiddleware:
    """ASGI middleware: one log line (WARNING, no traceback) per 4xx answer under ``/ml``."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIX):
            return await self.app(scope, receive, send)
        state: dict[str, Any] = {"status": 0, "body": b""}

        async def logging_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
            elif message["type"] == "http.response.body" and 400 <= state["status"] < 500:
                if len(state["body"]) < _PARSED_BODY:
                    state["body"] += message.get("body", b"")[:_PARSED_BODY]
                if not message.get("more_body"):
                    _log_client_error(scope, state["status"], state["body"])
            await send(message)

        await self.app(scope, receive, logging_send)


def _log_client_error(scope: dict[str, Any], status: int, body: bytes) -> None:
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
        if isinstance(data, dict) and isinstance(data.get("error"), str):
            text = data["error"]
    except ValueError:
        pass
    text = " ".join(text.split())[:_LOGGED_BODY]
    logger.warning("%s %s -> %d: %s", scope.get("method"), scope["path"], status, text)


class _DropValidationTracebacks(logging.Filter):
    """Drops BentoML's ``Exception on <path>`` record of a request-validation error (a 4xx, logged in one line
    by :class:`ClientErrorLogMiddleware`); every other record passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.exc_info or not str(record.msg).startswith("Exception on"):
            return True
        exc = record.exc_info[1]
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            return False
        code = getattr(getattr(exc, "error_code", None), "value", None)
        return not (isinstance(code, int) and 400 <= code < 500)


_FILTER = _DropValidationTracebacks()


def install_log_filter() -> None:
    """Attach the filter to BentoML's HTTP-app logger (idempotent)."""
    target = logging.getLogger("bentoml._internal.server.http_app")
    if _FILTER not in target.filters:
        target.addFilter(_FILTER)
