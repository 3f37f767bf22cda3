"""Issue 18, hostile input: content negotiation (415), the body-size limit (413), one-line 4xx logs."""

from __future__ import annotations

import json
import logging

import pytest

from serving.request_guard import DEFAULT_MAX_BODY_BYTES, RequestGuardMiddleware
from tests.serving.conftest import headers

#: Every JSON POST endpoint with a body that is valid for it (the admin key may call all of them).
POSTS = {
    "/ml/signal/score": {"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY"},
    "/ml/signal/score_batch": {"signals": [{"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY"}]},
    "/ml/volatility/predict": {"symbol": "SYN"},
    "/ml/volatility/predict_batch": {"requests": [{"symbol": "SYN"}]},
    "/ml/bars": {"bars": [{"symbol": "PUSH", "timeframe": "1d", "ts": "2024-01-02", "open": 1, "high": 1,
                           "low": 1, "close": 1, "volume": 1}]},
    "/ml/models/train": {"model_type": "VOLATILITY", "symbols": ["SYN"]},
    "/ml/models/reload": {},
    "/ml/tune/start": {"strategy": "sma_crossover", "symbol": "SYN", "budget": 10},
    "/ml/tune/apply": {"job_id": 1},
}
NOT_JSON = ["multipart/form-data", "multipart/form-data; boundary=xyz", "text/plain", "application/xml",
            "application/x-www-form-urlencoded", "text/html; charset=utf-8"]


@pytest.mark.parametrize("path", sorted(POSTS))
def test_non_json_content_types_answer_415_on_every_post_endpoint(client, store, path):
    body = json.dumps(POSTS[path]).encode()
    for kind in NOT_JSON:
        r = client.post(path, content=body, headers={**headers("admin"), "Content-Type": kind})
        assert r.status_code == 415, (path, kind, r.status_code, r.text)
        assert r.json()["expected"] == "application/json" and "application/json" in r.json()["error"]
    # a real multipart form (what `curl -F` sends) is refused the same way, never a 500
    form = client.post(path, files={"file": ("x.json", body, "application/json")}, headers=headers("admin"))
    assert form.status_code == 415, form.text


def test_json_with_or_without_a_content_type_is_read(client, store):
    body = json.dumps(POSTS["/ml/volatility/predict"]).encode()
    for extra in ({"Content-Type": "application/json"}, {"Content-Type": "application/json; charset=utf-8"},
                  {"Content-Type": "Application/JSON"}, {}):
        r = client.post("/ml/volatility/predict", content=body, headers={**headers("alice"), **extra})
        assert r.status_code == 200, (extra, r.text)
    # no Content-Type and a body that is not JSON: a 422, not a 500
    r = client.post("/ml/volatility/predict", content=b"<xml/>", headers=headers("alice"))
    assert r.status_code == 422, r.text


def test_unauthenticated_requests_are_refused_before_content_checks(client, store):
    r = client.post("/ml/volatility/predict", content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 401


def _push_body(n: int) -> bytes:
    """``n`` bars as a feed would send them, every price with 17 significant digits (the longest float text)."""
    bars = [{"symbol": "SYMBOL.LONG", "timeframe": "1d", "ts": f"2024-01-01T00:00:{i % 60:02d}.{i:06d}",
             "open": 1234.5678901234567, "high": 1234.5678901234567, "low": 1234.5678901234567,
             "close": 1234.5678901234567, "volume": 123456789.01234567} for i in range(n)]
    return json.dumps({"bars": bars, "source": "a-feed"}).encode()


def _inline_batch_body(n_bars: int) -> bytes:
    bar = {"ts": "2024-01-01T00:00:00", "open": 1234.5678901234567, "high": 1234.5678901234567,
           "low": 1234.5678901234567, "close": 1234.5678901234567, "volume": 123456789.01234567}
    per = 20_000
    reqs = [{"symbol": "SYN", "bars": [bar] * min(per, n_bars - k)} for k in range(0, n_bars, per)]
    return json.dumps({"requests": reqs}).encode()


def test_the_default_body_limit_fits_the_largest_requests_the_schemas_allow():
    push = len(_push_body(10_000))
    inline = len(_inline_batch_body(50_000))
    assert push < DEFAULT_MAX_BODY_BYTES and inline < DEFAULT_MAX_BODY_BYTES, (push, inline)
    assert DEFAULT_MAX_BODY_BYTES < 4 * max(push, inline)  # and not much more


def test_a_10000_bar_push_fits_the_default_limit(client, store):
    from store.users import create_user

    create_user(store, "feed", key="key-feeder-0123456789", role="feeder")
    r = client.post("/ml/bars", content=_push_body(10_000),
                    headers={"X-API-Key": "key-feeder-0123456789", "Content-Type": "application/json"})
    assert r.status_code == 200, r.text[:300]
    assert r.json()["received"] == 10_000


def test_bodies_over_the_limit_answer_413_before_parsing(registry_store, db_url, store):
    from tests.serving import support
    from tests.serving.conftest import make_client

    env = support.service_env(registry_store["uri"], ABTPRO_SERVING_MAX_BODY_BYTES="1000")
    with make_client(env) as small:
        ok = json.dumps({"symbol": "SYN"}).encode()
        assert small.post("/ml/volatility/predict", content=ok, headers=headers("alice")).status_code == 200
        big = b'{"symbol": "SYN", "pad": "' + b"x" * 2000 + b'"}'
        r = small.post("/ml/volatility/predict", content=big, headers=headers("alice"))
        assert r.status_code == 413 and r.json()["limit"] == 1000 and "too large" in r.json()["error"]

        def chunks():  # no Content-Length: the body is counted as it streams
            yield b'{"symbol": "SYN", "pad": "'
            for _ in range(50):
                yield b"x" * 100
            yield b'"}'

        streamed = small.post("/ml/volatility/predict", content=chunks(), headers=headers("alice"))
        assert streamed.status_code == 413, streamed.text

        def small_chunks():
            yield b'{"symbol": '
            yield b'"SYN"}'

        assert small.post("/ml/volatility/predict", content=small_chunks(),
                          headers=headers("alice")).status_code == 200


class _Recorder:
    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.called = False

    async def app(self, scope, receive, send):
        self.called = True
        while True:
            message = await receive()
            self.messages.append(message)
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body():
    import anyio

    rec = _Recorder()
    guard = RequestGuardMiddleware(rec.app, max_body_bytes=10)
    read = []
    sent: list[dict] = []

    async def receive():
        read.append(1)
        return {"type": "http.request", "body": b"x" * 100, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/ml/bars",
             "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")]}
    anyio.run(guard, scope, receive, send)
    assert sent[0]["status"] == 413 and not read and not rec.called
    # a streamed body is replayed whole to the app when it fits
    rec2 = _Recorder()
    parts = iter([{"type": "http.request", "body": b"12345", "more_body": True},
                  {"type": "http.request", "body": b"678", "more_body": False}])

    async def receive2():
        return next(parts)

    anyio.run(RequestGuardMiddleware(rec2.app, max_body_bytes=10), {**scope, "headers": []}, receive2, send)
    assert rec2.messages == [{"type": "http.request", "body": b"12345678", "more_body": False}]


def test_a_4xx_is_logged_in_one_line_without_a_traceback(client, store, caplog):
    caplog.set_level(logging.INFO)
    r = client.post("/ml/signal/score", json={"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY",
                                              "strength": "lots"}, headers=headers("alice"))
    assert r.status_code == 422
    r = client.post("/ml/signal/score", content=b"a=1", headers={**headers("alice"),
                                                                 "Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    assert client.post("/ml/signal/score", json={}).status_code == 401
    assert not [rec for rec in caplog.records if rec.exc_info], [rec.getMessage() for rec in caplog.records]
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "abtpro.serving"]
    assert any(m.startswith("POST /ml/signal/score -> 422: invalid request: strength") for m in lines), lines
    assert any(m.startswith("POST /ml/signal/score -> 415") for m in lines), lines
    assert any(m.startswith("POST /ml/signal/score -> 401") for m in lines), lines
    assert all("\n" not in m for m in lines)


def test_a_nul_character_anywhere_is_a_422_naming_the_field(client, store):
    """No text column takes a NUL (PostgreSQL refuses it with an error): refused before any query, never a 5xx."""
    admin = headers("admin")
    for path in ("/ml/audit?actor=a%00b", "/ml/signal/history?symbol=SY%00N", "/ml/volatility/history?timeframe=%00"):
        r = client.get(path, headers=admin)
        assert r.status_code == 422, (path, r.text)
        assert "NUL" in r.text
    for path, body, field in (
            ("/ml/signal/score", {"symbol": "SYN", "strategy": "sma\\u0000x", "side": "BUY"}, "strategy"),
            ("/ml/bars", {"bars": [{"symbol": "A\\u0000", "timeframe": "1d", "ts": "2024-01-01", "open": 1,
                                    "high": 1, "low": 1, "close": 1, "volume": 1}]}, "symbol"),
            ("/ml/models/train", {"model_type": "VOLATILITY", "symbols": ["SYN", "X\\u0000"]}, "symbols")):
        raw = json.dumps(body).replace("\\\\u0000", "\\u0000")  # the JSON escape of a NUL, not a backslash
        r = client.post(path, content=raw,
                        headers={**admin, "Content-Type": "application/json"})
        assert r.status_code == 422, (path, r.text)
        assert field in r.text and "NUL" in r.text
