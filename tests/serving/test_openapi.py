"""The OpenAPI document behind the Swagger page: the project's title, description and version, and the
``X-API-Key`` scheme on every /ml route, admin-only routes saying so (read from the running app)."""

from __future__ import annotations

from importlib.metadata import version

from serving.auth import ADMIN_ROUTES
from serving.openapi import ROLE_ROUTES

METHODS = ("get", "post", "put", "delete", "patch")


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def test_the_document_names_the_project_and_its_version(client):
    spec = client.get("/docs.json").json()
    info = spec["info"]
    assert info["title"] == "ABTPro ML API" and info["version"] == version("abtpro-ml") != "None"
    assert "X-API-Key" in info["description"] and "BentoML" not in info["description"]
    assert "contact" not in info  # not BentoML's team


def test_the_api_key_scheme_guards_every_ml_route(client):
    spec = client.get("/docs.json").json()
    assert spec["components"]["securitySchemes"]["X-API-Key"] == {
        "type": "apiKey", "in": "header", "name": "X-API-Key",
        "description": "An API key of an ABTPro user (`abtpro users create`)."}
    assert spec["components"]["schemas"]  # the body schemas are still there
    ml = [(m, p, op) for m, p, op in _operations(spec) if p.startswith("/ml")]
    assert len(ml) >= 17
    for method, path, op in ml:
        assert op["security"] == [{"X-API-Key": []}], (method, path)
        assert "401" in op["responses"], (method, path)
    for method, path, op in _operations(spec):
        if not path.startswith("/ml"):
            assert "security" not in op, path  # docs, probes and /metrics stay open


def test_admin_only_routes_say_so(client):
    spec = client.get("/docs.json").json()
    admin = {(m.upper(), p) for m, p, _ in _operations(spec) if (m.upper(), p) in ADMIN_ROUTES}
    assert admin == ADMIN_ROUTES == {("POST", "/ml/models/train"), ("POST", "/ml/models/reload"),
                                     ("POST", "/ml/tune/apply"), ("GET", "/ml/audit")}
    for method, path, op in _operations(spec):
        marked = "Admin only" in (op.get("summary") or "") and "Admin only" in (op.get("description") or "")
        if (method.upper(), path) in ADMIN_ROUTES:
            assert marked and "403" in op["responses"], path
            assert op["description"].startswith("**Admin only**"), path
        elif (method.upper(), path) in ROLE_ROUTES:  # a role route (feeder) is not admin-only, but answers 403
            assert not marked and "403" in op["responses"] and op["description"].startswith("**Role "), path
        else:
            assert not marked and "403" not in op.get("responses", {}), path
