"""Keep-alive recycling (serving.keepalive): every N-th answer of a connection says ``Connection: close``."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from serving.keepalive import ConnectionRecycleMiddleware


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def _call(mw: ConnectionRecycleMiddleware, client: tuple[str, int] | None, kind: str = "http") -> list[dict]:
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": kind, "path": "/ml/signal/score", "client": client}
    asyncio.run(mw(scope, receive, send))
    return sent


def _closes(sent: list[dict]) -> bool:
    headers = sent[0]["headers"]
    return (b"connection", b"close") in headers


def test_every_nth_answer_of_a_connection_closes_it():
    mw = ConnectionRecycleMiddleware(_app, max_requests=3)
    closes = [_closes(_call(mw, ("127.0.0.1", 5000))) for _ in range(7)]
    assert closes == [False, False, True, False, False, True, False]


def test_connections_are_counted_separately_and_bodies_pass_unchanged():
    mw = ConnectionRecycleMiddleware(_app, max_requests=2)
    assert not _closes(_call(mw, ("127.0.0.1", 1)))
    assert not _closes(_call(mw, ("127.0.0.1", 2)))
    sent = _call(mw, ("127.0.0.1", 1))
    assert _closes(sent)
    assert sent[0]["headers"][0] == (b"content-type", b"text/plain")  # the app's own headers are kept
    assert sent[1] == {"type": "http.response.body", "body": b"ok"}
    assert _closes(_call(mw, ("127.0.0.1", 2)))  # the second connection's 2nd answer closes it too


def test_zero_or_no_client_never_closes():
    never = ConnectionRecycleMiddleware(_app, max_requests=0)
    assert not any(_closes(_call(never, ("127.0.0.1", 9))) for _ in range(5))
    unknown = ConnectionRecycleMiddleware(_app, max_requests=1)
    assert not any(_closes(_call(unknown, None)) for _ in range(3))


def test_default_comes_from_the_setting(monkeypatch):
    monkeypatch.setenv("ABTPRO_SERVING_MAX_REQUESTS_PER_CONNECTION", "4")
    assert ConnectionRecycleMiddleware(_app).max_requests == 4
    monkeypatch.setenv("ABTPRO_SERVING_MAX_REQUESTS_PER_CONNECTION", "-1")
    with pytest.raises(ValueError, match="max_requests_per_connection"):
        ConnectionRecycleMiddleware(_app)
