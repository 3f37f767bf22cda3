"""API-key authentication for everything under ``/ml`` (one ASGI middleware: default deny).

Clients send ``X-API-Key``. The middleware hashes it (SHA-256), looks the hash up in ``users``
(cached for ``auth_cache_seconds`` so a request does not pay a query), answers 401 for a missing or
unknown key and 403 for a non-admin on an admin-only route, and otherwise stores the
:class:`store.users.ApiUser` in the ASGI scope (``scope["abtpro.user"]``) for the handlers.
Docs, ``/metrics`` and the health probes are outside ``/ml`` and stay open.

It also turns BentoML's 400 answers to request-validation errors into 422 with the failing fields
(``loc``) spelled out, the status the rest of the API uses for bad payloads.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from store.users import ApiUser, hash_key, verify_key

logger = logging.getLogger(__name__)
API_KEY_HEADER = "x-api-key"
SCOPE_KEY = "abtpro.user"
PROTECTED_PREFIX = "/ml"
ADMIN_ROUTES = {("POST", "/ml/models/train"), ("POST", "/ml/models/reload"), ("POST", "/ml/tune/apply"),
                ("GET", "/ml/audit")}
#: Routes called by servers that sign their requests instead of sending a key (checked by the handler):
#: MLflow's registry webhook (serving.routes.approvals).
SIGNED_ROUTES = {("POST", "/ml/models/webhook")}


class KeyCache:
    """Verified keys (by hash) for a few seconds; unknown keys are not cached (no negative caching)."""

    def __init__(self, db_url: str, ttl: float):
        self.db_url = db_url
        self.ttl = ttl
        self._data: dict[str, tuple[float, ApiUser]] = {}
        self._lock = threading.Lock()

    def cached(self, key: str) -> ApiUser | None:
        """The user of ``key`` if it was verified less than ``ttl`` seconds ago (no I/O)."""
        hit = self._data.get(hash_key(key))
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def lookup(self, key: str | None) -> ApiUser | None:
        if not key:
            return None
        digest = hash_key(key)
        now = time.monotonic()
        hit = self._data.get(digest)
        if hit is not None and hit[0] > now:
            return hit[1]
        user = verify_key(self.db_url, key)
        if user is not None and self.ttl > 0:
            with self._lock:
                self._data[digest] = (now + self.ttl, user)
        return user


def current_user(scope: dict[str, Any]) -> ApiUser:
    """The authenticated user of a request (set by :class:`ApiKeyMiddleware`)."""
    return scope[SCOPE_KEY]


async def _send_json(send: Any, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _validation_body(raw: bytes) -> dict[str, Any] | None:
    """BentoML's validation error body rewritten with the failing fields, or None if it is not one."""
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    detail = data.get("detail") if isinstance(data, dict) else None
    if not isinstance(detail, list) or not detail:
        return None
    fields = []
    for err in detail:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "root")]
        fields.append(".".join(loc) or "body")
    message = "; ".join(f"{f}: {e.get('msg', '')}" for f, e in zip(fields, detail))
    return {"error": f"invalid request: {message}", "fields": fields, "detail": detail}


class ApiKeyMiddleware:
    """ASGI middleware: authenticate ``/ml`` requests and normalise validation errors to 422."""

    def __init__(self, app: Any, keys: KeyCache | None = None, resolver: Any = None):
        self.app = app
        self.keys = keys
        self.resolver = resolver  # callable returning the KeyCache (the service builds it at startup)

    def _audit_denied(self, user: ApiUser, scope: dict[str, Any]) -> None:
        """A refused admin attempt is audited (``denied``); a failing write must not turn the 403 into a 500."""
        from store import records

        try:
            records.audit(self._cache().db_url, user.name, "denied", f"{scope['method']} {scope['path']}"[:500])
        except Exception:  # noqa: BLE001 - the answer is a 403 either way
            logger.warning("could not audit the denied %s %s of %s", scope["method"], scope["path"], user.name)

    def _cache(self) -> KeyCache:
        if self.keys is None:
            self.keys = self.resolver()
        return self.keys

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIX):
            return await self.app(scope, receive, send)
        if (scope["method"], scope["path"].rstrip("/")) in SIGNED_ROUTES:
            return await self._rewrite_400(scope, receive, send)
        key = None
        for name, value in scope.get("headers", []):
            if name == API_KEY_HEADER.encode():
                key = value.decode("latin-1")
                break
        if not key:
            return await _send_json(send, 401, {"error": "missing API key: send it in header X-API-Key"},
                                    [(b"www-authenticate", b"ApiKey")])
        user = self._cache().cached(key)
        if user is None:  # database lookup off the event loop
            import anyio

            user = await anyio.to_thread.run_sync(self._cache().lookup, key)
        if user is None:
            return await _send_json(send, 401, {"error": "invalid API key"}, [(b"www-authenticate", b"ApiKey")])
        if (scope["method"], scope["path"].rstrip("/")) in ADMIN_ROUTES and not user.is_admin:
            import anyio

            await anyio.to_thread.run_sync(self._audit_denied, user, scope)
            return await _send_json(send, 403, {"error": f"{scope['path']} is admin-only"})
        scope[SCOPE_KEY] = user
        if scope["method"] != "POST":
            return await self.app(scope, receive, send)
        await self._rewrite_400(scope, receive, send)

    async def _rewrite_400(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Pass responses through, except a 400 validation error, which becomes a 422."""
        held: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def wrapped_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 400:
                    held["start"] = message
                    return
                return await send(message)
            if "start" in held and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                raw = b"".join(chunks)
                body = _validation_body(raw)
                if body is None:
                    await send(held["start"])
                    return await send({"type": "http.response.body", "body": raw})
                return await _send_json(send, 422, body)
            await send(message)

        await self.app(scope, receive, wrapped_send)
