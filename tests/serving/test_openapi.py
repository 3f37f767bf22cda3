"""The OpenAPI document behind the Swagger page (read from the running app): the project's title, description
and version, the ``X-API-Key`` scheme on every /ml route, admin-only routes saying so; a valid OpenAPI 3.1.0
document (meta-schema, JSON Schema 2020-12) with every status code, required bodies, nullable fields and UTC
datetimes as the service answers them (``tests/serving/test_schema_fuzz.py`` fuzzes it as served)."""

from __future__ import annotations

import json
from importlib.metadata import version

from serving.auth import ADMIN_ROUTES, SIGNED_ROUTES
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
        signed = (method.upper(), path) in SIGNED_ROUTES  # MLflow's webhook: its signature, not a key
        assert op["security"] == ([] if signed else [{"X-API-Key": []}]), (method, path)
        assert "401" in op["responses"], (method, path)
    assert SIGNED_ROUTES == {("POST", "/ml/models/webhook")}
    hook = spec["paths"]["/ml/models/webhook"]["post"]
    assert {p["name"] for p in hook["parameters"]} == {"X-MLflow-Signature", "X-MLflow-Timestamp",
                                                      "X-MLflow-Delivery-Id"}
    assert "Signature" in hook["responses"]["401"]["description"]
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


# ------------------------------------------------------------------ a valid OpenAPI 3.1 document (issue 18)

SPEC_URI = "urn:abtpro:docs.json"


def _validator(spec: dict, pointer: str):
    """A JSON Schema 2020-12 validator (formats checked) of the schema at ``pointer`` of the document."""
    import jsonschema
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resource(SPEC_URI, Resource.from_contents(spec, default_specification=DRAFT202012))
    return jsonschema.Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=registry,
                                           format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _schema_objects(node, where: str = ""):
    """Every Schema Object of the document: components, parameters, media types and headers."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "schema" and isinstance(value, dict):
                yield f"{where}/{key}", value
            elif key == "schemas" and where == "/components":
                for name, schema in value.items():
                    yield f"{where}/schemas/{name}", schema
            else:
                yield from _schema_objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _schema_objects(value, f"{where}/{i}")


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_document_is_valid_openapi_3_1(client):
    """The OpenAPI 3.1 meta-schema (schemathesis' copy of the official one) and JSON Schema 2020-12 for every
    schema in it; every reference resolves. BentoML's own document (3.0.2) fails the 3.0 meta-schema."""
    import bentoml
    import jsonschema
    from schemathesis.specs.openapi.definitions import OPENAPI_30_VALIDATOR, OPENAPI_31_VALIDATOR

    from serving.service import MLService

    spec = client.get("/docs.json").json()
    assert spec["openapi"] == "3.1.0"
    assert [e.message for e in OPENAPI_31_VALIDATOR.iter_errors(spec)] == []
    schemas = list(_schema_objects(spec))
    assert len(schemas) > 80
    for where, schema in schemas:
        jsonschema.Draft202012Validator.check_schema(schema)  # raises naming the bad keyword
        assert "root_input" not in schema, where
    components = spec["components"]["schemas"]
    for ref in set(_refs(spec)):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[-1] in components, ref
    # the document BentoML builds says 3.0.2 but holds 3.1 schemas: the 3.0 meta-schema rejects it
    raw = json.loads(json.dumps(bentoml.Service.openapi_spec.fget(MLService).asdict()))  # as JSON: str keys
    assert raw["openapi"] == "3.0.2" and list(OPENAPI_30_VALIDATOR.iter_errors(raw))


def test_every_status_code_is_declared_with_the_error_schema(client):
    spec = client.get("/docs.json").json()
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    expected = {
        ("post", "/ml/models/train"): {"202", "400", "401", "403", "413", "415", "422", "503"},
        ("post", "/ml/tune/start"): {"202", "400", "401", "404", "413", "415", "422", "429", "503"},
        ("post", "/ml/tune/apply"): {"200", "400", "401", "403", "404", "409", "413", "415", "422", "503"},
        ("post", "/ml/signal/score"): {"200", "400", "401", "404", "413", "415", "422", "503"},
        ("get", "/ml/tune/results/{job_id}"): {"200", "401", "404", "409", "422", "503"},
        ("get", "/ml/models/list"): {"200", "401", "503"},
        ("get", "/ml/audit"): {"200", "401", "403", "422", "503"},
    }
    for method, path, op in _operations(spec):
        if not path.startswith("/ml"):
            continue
        codes = set(op["responses"])
        if (method, path) in expected:
            assert codes == expected[(method, path)], (method, path, codes)
        assert "500" not in codes and {"401", "503"} <= codes, (method, path)
        if method == "post":
            assert {"400", "413", "415", "422"} <= codes, path
        assert len([c for c in codes if c.startswith("2")]) == 1, (method, path)
        for code, answer in op["responses"].items():
            if not code.startswith("2"):
                assert answer["content"] == {"application/json": {"schema": error}}, (method, path, code)
    assert spec["paths"]["/ml/tune/start"]["post"]["responses"]["429"]["headers"]["Retry-After"]
    assert spec["components"]["schemas"]["ErrorResponse"]["required"] == ["error"]


def test_request_bodies_are_required_and_nullable_fields_nullable(client):
    """Every POST body is required and refers to its component; a field that may be None in the pydantic model
    accepts null in the document, and one that may not refuses it (request and response models)."""
    from typing import Any, Union, get_args, get_origin

    from pydantic import BaseModel

    import serving.schemas as models

    spec = client.get("/docs.json").json()
    for method, path, op in _operations(spec):
        if method == "post" and path.startswith("/ml"):
            body = op["requestBody"]
            assert body["required"] is True, path
            assert set(body["content"]["application/json"]["schema"]) == {"$ref"}, path
            answer = next(a for c, a in op["responses"].items() if c.startswith("2"))
            assert set(answer["content"]["application/json"]["schema"]) == {"$ref"}, path
    checked = 0
    for name in spec["components"]["schemas"]:
        model = getattr(models, name.removesuffix("IODescriptor"), None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            continue
        for field, info in model.model_fields.items():
            if info.annotation is Any:
                continue
            args = get_args(info.annotation) if get_origin(info.annotation) in (Union, type(int | None)) else ()
            nullable = type(None) in args
            accepts = _validator(spec, f"/components/schemas/{name}/properties/{field}").is_valid(None)
            assert accepts == nullable, (name, field, info.annotation)
            checked += 1
    assert checked > 150


def test_datetimes_in_as_utc_or_naive_utc_and_out_as_utc(client, store):
    """Request datetimes: RFC 3339, a time without offset being UTC; every response datetime carries ``Z``
    (``format: date-time``), and validates against the document."""
    from tests.serving.conftest import headers

    spec = client.get("/docs.json").json()
    signal = {"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY"}
    answers = [client.post("/ml/signal/score", json={**signal, "ts": ts}, headers=headers("alice"))
               for ts in ("2019-06-03T00:00:00", "2019-06-03T00:00:00Z", "2019-06-03T02:00:00+02:00")]
    assert [r.status_code for r in answers] == [200] * 3, [r.text for r in answers]
    assert {r.json()["ts"] for r in answers} == {"2019-06-03T00:00:00Z"}
    score = _validator(spec, "/components/schemas/SignalResultIODescriptor")
    assert score.is_valid(answers[0].json())
    assert not score.is_valid({**answers[0].json(), "ts": "2019-06-03T00:00:00"})  # naive: not a date-time
    history = client.get("/ml/signal/history", headers=headers("alice")).json()
    assert history["items"] and all(i["created_at"].endswith("Z") and i["ts"].endswith("Z") for i in history["items"])
    assert _validator(spec, "/components/schemas/SignalHistory").is_valid(history)
    ts = spec["components"]["schemas"]["SignalRequestIODescriptor"]["properties"]["ts"]
    assert {"format": "date-time", "type": "string"} in ts["anyOf"]


def test_query_datetimes_are_iso_text_converted_to_utc_and_parameters_single_valued(client, store):
    """``start``/``end`` of the GET routes: an offset is converted to UTC (not dropped), a number is a 422 naming
    the parameter (not Unix seconds), and a parameter given twice is a 422 (not silently the last value)."""
    from datetime import UTC, datetime, timedelta, timezone

    from tests.serving.conftest import headers

    r = client.post("/ml/signal/score", json={"symbol": "SYN", "strategy": "sma_crossover", "side": "BUY"},
                    headers=headers("bob"))
    assert r.status_code == 200, r.text
    shifted = (datetime.now(UTC) - timedelta(minutes=5)).astimezone(timezone(timedelta(hours=5)))
    page = client.get("/ml/signal/history", params={"start": shifted.isoformat()}, headers=headers("bob")).json()
    assert page["total"] >= 1  # 5 min ago in +05:00 is 5 min ago; read as naive it would be 5 h ahead
    for bad in ("1", "1700000000.5"):
        r = client.get("/ml/signal/history", params={"start": bad}, headers=headers("bob"))
        assert r.status_code == 422 and r.json()["fields"] == ["start"], r.text
    r = client.get("/ml/volatility/history?symbol=SYN&symbol=SYN2", headers=headers("bob"))
    assert r.status_code == 422 and r.json()["fields"] == ["symbol"] and "more than once" in r.json()["error"], r.text


def test_bentoml_build_writes_the_same_document(client):
    """``bentoml build`` writes ``apis/openapi.yaml`` with ``yaml.dump(service.openapi_spec)``."""
    import yaml

    from serving.service import MLService

    assert yaml.safe_load(yaml.dump(MLService.openapi_spec)) == client.get("/docs.json").json()
