"""Issue 18: /metrics labels HTTP series by route template; random (unauthenticated, 404) paths add none."""

from __future__ import annotations

import uuid

from serving.route_metrics import UNMATCHED, RouteLabels
from tests.serving.conftest import headers


def test_route_labels_map_paths_to_templates():
    labels = RouteLabels(["/", "/ml/signal/score", "/ml/tune/status/{job_id}"])
    assert labels("/ml/signal/score") == "/ml/signal/score" and labels("/ml/signal/score/") == "/ml/signal/score"
    assert labels("/ml/tune/status/17") == "/ml/tune/status/{job_id}"
    assert labels("/ml/tune/status/17/x") == UNMATCHED and labels("/wp-login.php") == UNMATCHED
    assert labels("/static_content/app.js") == "/static_content/{path}" and labels("/") == "/"


def _metrics() -> str:
    """The process's Prometheus exposition (what ``/metrics`` serves; the endpoint itself needs the server's
    metrics set-up, ``tests/integration/test_bentoml_serve.py`` scrapes it)."""
    from prometheus_client import REGISTRY, generate_latest

    return generate_latest(REGISTRY).decode()


def _endpoints(text: str) -> set[str]:
    out = set()
    for line in text.splitlines():
        if line.startswith("abtpro_request_total{") and 'endpoint="' in line:
            out.add(line.split('endpoint="', 1)[1].split('"', 1)[0])
    return out


def test_random_paths_add_no_series_and_templates_label_the_rest(client, store):
    client.get("/ml/tune/status/12345", headers=headers("alice"))
    client.get("/ml/tune/status/54321", headers=headers("alice"))
    client.get("/no-such-page")
    client.get("/ml/no-such-route")
    before = _metrics()
    for i in range(200):
        path = f"/{uuid.uuid4().hex}/{i}" if i % 2 else f"/ml/{uuid.uuid4().hex}"
        assert client.get(path).status_code in (401, 404)
    after = _metrics()
    assert len(after) - len(before) < 2_000, (len(before), len(after))  # counters tick, no new series
    endpoints = _endpoints(after)
    assert "/ml/tune/status/{job_id}" in endpoints and UNMATCHED in endpoints
    assert not any("12345" in e or "no-such" in e for e in endpoints), endpoints
    known = RouteLabels([]).mounts
    assert all(e == UNMATCHED or e.startswith(("/ml/", *known)) or e.count("/") == 1 for e in endpoints), endpoints
    assert not [e for e in endpoints if any(c.isdigit() for c in e)], endpoints  # no ids, no random paths


def test_the_app_behind_the_metrics_sees_the_real_path(client, store):
    r = client.get("/ml/tune/status/999999", headers=headers("alice"))
    assert r.status_code == 404 and "999999" in r.text  # routed by its real path, answered for job 999999
