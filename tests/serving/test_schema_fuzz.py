"""Property-based checks of every documented /ml operation (schemathesis strategies over the service's
own OpenAPI document): whatever the generated payload, the answer is never a server error."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.serving.conftest import headers

pytestmark = pytest.mark.slow


def _openapi30(node):
    """BentoML labels the document OpenAPI 3.0 but pydantic writes JSON-Schema-2020 numeric
    ``exclusiveMinimum/Maximum: x``; rewrite them to the 3.0 form (``minimum: x, exclusiveMinimum: true``)."""
    if isinstance(node, dict):
        for bound, flag in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
            if isinstance(node.get(flag), (int, float)) and not isinstance(node.get(flag), bool):
                node[bound], node[flag] = node[flag], True
        for value in node.values():
            _openapi30(value)
    elif isinstance(node, list):
        for value in node:
            _openapi30(value)
    return node


def test_no_server_errors_on_generated_requests(client, store):
    raw = _openapi30(client.get("/docs.json").json())
    schema = schemathesis.openapi.from_dict(raw)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/ml/")]
    assert len(operations) >= 13
    seen: dict[str, set[int]] = {}
    unsupported = []
    for op in operations:
        try:
            strategy = op.as_strategy()
        except schemathesis.core.errors.UnsupportedSchema:
            unsupported.append(f"{op.method.upper()} {op.path}")
            continue

        @settings(max_examples=10, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(strategy)
        def check(case):
            kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=headers("admin"))
            kwargs = {k: v for k, v in kwargs.items()
                      if k in ("method", "url", "params", "headers", "json", "data", "content", "cookies")}
            response = client.request(**kwargs)
            seen.setdefault(f"{op.method.upper()} {op.path}", set()).add(response.status_code)
            assert response.status_code < 500, (op.method, op.path, kwargs.get("json"), response.text[:300])

        try:
            check()
        except schemathesis.core.errors.UnsupportedSchema:
            unsupported.append(f"{op.method.upper()} {op.path}")
    assert len(seen) + len(unsupported) == len(operations) and len(seen) >= 10, (seen, unsupported)
