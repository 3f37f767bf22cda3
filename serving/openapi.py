"""The service's OpenAPI document (``/docs.json``, the Swagger page at ``/``): a valid OpenAPI **3.1.0**
document of the whole ``/ml`` API, with the project's title, description and version.

BentoML 1.4 builds the document from two parts: its own ``@bentoml.api`` POST routes (labelled OpenAPI
3.0.2, the request/response schemas inlined with ``anyOf: [X, null]`` flattened to ``X``, only 400/404/500
declared) and the mounted FastAPI app of the GET routes (whose schemas, like pydantic v2's, are JSON Schema
2020-12, i.e. OpenAPI 3.1: numeric ``exclusiveMinimum``, ``anyOf`` with ``{"type": "null"}``, ``examples``).
:class:`DocumentedService` (given to ``@bentoml.service(service_class=...)``) serves :func:`document` of
it instead, which

* says ``openapi: 3.1.0`` (what the schemas already are; BentoML's bundled Swagger UI 5 renders it);
* points each POST body and answer at its component schema (``$ref``), which keeps the nullable fields
  nullable, and marks every request body ``required``; the train and tune start answers are ``202``;
* declares every status code each ``/ml`` operation really answers (:data:`ROUTE_ERRORS` on top of those of
  every route, every POST and every GET with parameters), all with the :class:`serving.schemas.ErrorResponse`
  schema the handlers and middlewares answer with (no BentoML ``500``/``InvalidArgument`` stand-ins);
* declares the ``X-API-Key`` scheme (so Swagger shows *Authorize*) on each ``/ml`` operation and says on each
  admin-only route (:data:`serving.auth.ADMIN_ROUTES`) and role route (:data:`ROLE_ROUTES`) that it is one;
* drops the component schemas nothing refers to any more.

Datetimes: request fields take RFC 3339 (a naive time is read as UTC); every response datetime is UTC with the
``Z`` designator (:data:`serving.schemas.UtcDatetime`). ``tests/serving/test_openapi.py`` validates the
document against the OpenAPI 3.1 meta-schema and every schema in it against JSON Schema 2020-12;
``tests/serving/test_schema_fuzz.py`` runs schemathesis on it as served.
"""

from __future__ import annotations

import copy
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import bentoml
import yaml

from serving.auth import ADMIN_ROUTES, PROTECTED_PREFIX, SIGNED_ROUTES
from serving.schemas import ErrorResponse, MLflowWebhook

TITLE = "ABTPro ML API"
DESCRIPTION = """\
Signal-quality scores and volatility forecasts of the ABTPro ML pipeline, with the models' history,
accuracy, training jobs and strategy tuning.

Every `/ml` route needs the header `X-API-Key` (create keys with `abtpro users create NAME [--role feeder|admin]`;
use *Authorize* to send one from this page). A missing or unknown key answers `401`; routes marked
**Admin only** answer `403` to other keys. Invalid payloads answer `422` naming the field; `503` means no
champion model is registered yet or the database cannot be reached right now. Every error answer is a JSON
`ErrorResponse` (`error` says what is wrong). Request datetimes are RFC 3339 (a time without offset is UTC);
response datetimes are UTC (`...Z`)."""
SCHEME = "X-API-Key"
SECURITY_SCHEMES = {SCHEME: {"type": "apiKey", "in": "header", "name": "X-API-Key",
                             "description": "An API key of an ABTPro user (`abtpro users create`)."}}
ADMIN_NOTE = "**Admin only**: needs the key of an admin user (`403` for other keys)."
OPENAPI_VERSION = "3.1.0"
REF = "#/components/schemas/{}"
ERROR_SCHEMA = "ErrorResponse"
#: Routes that need a role besides admin: (method, path) -> role (the handler answers 403 to other keys).
ROLE_ROUTES = {("POST", "/ml/bars"): "feeder"}
METHODS = ("get", "put", "post", "delete", "patch")
#: Routes whose success answer is 202 Accepted (a background job was queued), not 200.
ACCEPTED_ROUTES = {("POST", "/ml/models/train"), ("POST", "/ml/tune/start")}
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before retrying.", "schema": {"type": "string"}}}
#: What each error status means (the description of its response); 403/404/409 get a route's own text.
ERRORS = {
    "400": "Malformed request: a bad `Content-Length`, or a body that is not JSON at all.",
    "401": "Missing or unknown `X-API-Key`.",
    "403": "The key is not an admin's (admin-only route).",
    "404": "Not found (unknown symbol or series, job or signal).",
    "409": "Conflict with the job's state.",
    "413": "Request body over `ABTPRO_SERVING_MAX_BODY_BYTES` (`limit` says how many bytes).",
    "415": "The body is not `application/json` (`expected` says what is).",
    "422": "Invalid payload or parameters: `error` names each failing field (`fields`).",
    "429": "Tuning quota reached (open jobs per key or in all, jobs per key and day); `Retry-After` says when.",
    "503": "No champion model is registered yet, or the database cannot be reached right now (`Retry-After`).",
}
_HEADERS = {"401": {"WWW-Authenticate": {"description": "`ApiKey`.", "schema": {"type": "string"}}},
            "429": _RETRY_AFTER, "503": _RETRY_AFTER}
#: Status codes every ``/ml`` operation can answer: the key check (401) and the database (503: the key lookup).
COMMON_ERRORS = ("401", "503")
#: ... every POST (a JSON body: the request guard's 413/415, 400 for a body that is not JSON, 422 invalid).
POST_ERRORS = ("400", "413", "415", "422")
#: The status codes of particular routes, on top of those: (method, path) -> {status: description or None}.
ROUTE_ERRORS: dict[tuple[str, str], dict[str, str | None]] = {
    ("POST", "/ml/bars"): {"403": "The key has neither the feeder role nor admin."},
    ("POST", "/ml/models/train"): {"403": None},
    ("POST", "/ml/models/reload"): {"403": None},
    ("POST", "/ml/risk/position_size"): {"404": "No bars of the series (and no inline bars)."},
    ("POST", "/ml/risk/stops"): {"404": "No bars of the series (and no inline bars)."},
    ("POST", "/ml/risk/regime"): {"404": "No bars or no forecast history of the series."},
    ("POST", "/ml/signal/outcome"): {"404": "No scored signal of that id of this key's user."},
    ("POST", "/ml/signal/score"): {"404": "No bars of the series (and no inline bars), or no bar at `ts`."},
    ("POST", "/ml/signal/score_batch"): {"404": "No bars of a series (and no inline bars), or no bar at a `ts`."},
    ("POST", "/ml/volatility/predict"): {"404": "No bars of the series (and no inline bars), or none at `as_of`."},
    ("POST", "/ml/volatility/predict_batch"): {"404": "No bars of a series (and no inline bars), or none at an "
                                                      "`as_of`."},
    ("POST", "/ml/tune/start"): {"404": "No stored bars of the series.", "429": None},
    ("POST", "/ml/tune/apply"): {"403": None, "404": "No tuning job of that id.",
                                 "409": "The job is not COMPLETED, or its result is not recommended (use `force`)."},
    ("GET", "/ml/models/jobs/{job_id}"): {"404": "No training job of that id."},
    ("GET", "/ml/tune/status/{job_id}"): {"404": "No tuning job of that id visible to this key."},
    ("GET", "/ml/tune/results/{job_id}"): {"404": "No tuning job of that id visible to this key.",
                                           "409": "The job is not COMPLETED: no results yet."},
    ("GET", "/ml/audit"): {"403": None},
    ("POST", "/ml/models/webhook"): {"401": "Missing or wrong `X-MLflow-Signature`, or a delivery more than five "
                                            "minutes old (a replay)."},
}


def package_version() -> str:
    """The installed version of the ``abtpro-ml`` distribution ("0.0.0" when it is not installed)."""
    try:
        return version("abtpro-ml")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never pip-installed
        return "0.0.0"


def _error(status: str, description: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description or ERRORS[status],
                              "content": {"application/json": {"schema": {"$ref": REF.format(ERROR_SCHEMA)}}}}
    if status in _HEADERS:
        answer["headers"] = copy.deepcopy(_HEADERS[status])
    return answer


def _as_ref(media: dict[str, Any], schemas: dict[str, Any], api: str | None) -> None:
    """BentoML inlines a body schema with ``anyOf: [X, null]`` flattened to ``X`` (nullable fields lost); its
    component of the same title (``<api>__Input`` for a keyword-argument input) keeps them: point at that."""
    title = (media.get("schema") or {}).get("title")
    for name in (title, f"{api}__{title}"):
        if name in schemas:
            media["schema"] = {"$ref": REF.format(name)}
            return


def _operation(method: str, path: str, op: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """``op`` of the ``/ml`` API with its body and answers by reference, every status code it answers, the key."""
    key = (method.upper(), path)
    op["security"] = [{SCHEME: []}]
    api = op.get("x-bentoml-name")
    responses = {str(code): answer for code, answer in op.get("responses", {}).items()}
    success = {code: answer for code, answer in responses.items() if str(code).startswith("2")}
    for answer in success.values():
        for media in answer.get("content", {}).values():
            _as_ref(media, schemas, api)
    if key in ACCEPTED_ROUTES and "200" in success:
        success = {"202": {**success.pop("200"), "description": "Accepted: the job is queued (its id and state)."}}
    codes: dict[str, str | None] = dict.fromkeys(COMMON_ERRORS)
    if method == "post":
        codes.update(dict.fromkeys(POST_ERRORS))
        body = op.get("requestBody")
        if body is not None:
            body["required"] = True
            for media in body.get("content", {}).values():
                _as_ref(media, schemas, api)
    elif op.get("parameters"):
        codes["422"] = None
    codes.update(ROUTE_ERRORS.get(key, {}))
    op["responses"] = {**success, **{code: _error(code, text) for code, text in sorted(codes.items())}}
    if key in SIGNED_ROUTES:  # called by MLflow with its signature, not with an API key
        op["security"] = []
        op["responses"]["401"].pop("headers", None)
    if key in ADMIN_ROUTES:
        text = (op.get("description") or "").strip().removeprefix("Admin: ")
        text = text[:1].upper() + text[1:]
        op["summary"] = f"Admin only: {text.splitlines()[0]}" if text else "Admin only"
        op["description"] = f"{ADMIN_NOTE}\n\n{text}" if text else ADMIN_NOTE
    if (role := ROLE_ROUTES.get(key)) is not None:
        note = f"**Role {role}**: needs the key of a `{role}` user or an admin (`403` for other keys)."
        op["description"] = f"{note}\n\n{(op.get('description') or '').strip()}"
    return op


def _strip_bentoml_flags(node: Any) -> None:
    """BentoML's internal ``root_input: true`` flag is no schema keyword: drop it (a property of that name stays)."""
    if isinstance(node, dict):
        if isinstance(node.get("root_input"), bool):
            del node["root_input"]
        for value in node.values():
            _strip_bentoml_flags(value)
    elif isinstance(node, list):
        for value in node:
            _strip_bentoml_flags(value)


NO_NUL = "^[^\\u0000]*$"


def _declare_no_nul(node: Any) -> None:
    """Free text anywhere in the API takes no NUL character (a 422: no text column stores one): each string
    schema without a pattern, format or enum says so with a pattern."""
    if isinstance(node, dict):
        kind = node.get("type")
        if (kind == "string" or (isinstance(kind, list) and "string" in kind)) and not (
                {"pattern", "format", "enum", "const"} & set(node)):
            node["pattern"] = NO_NUL
        for value in node.values():
            _declare_no_nul(value)
    elif isinstance(node, list):
        for value in node:
            _declare_no_nul(value)


def _declare_no_nul_in_requests(spec: dict[str, Any]) -> None:
    """The NUL rule on what clients send (parameters, request bodies and the schemas they use), not on answers,
    which may quote a refused value."""
    schemas = spec["components"]["schemas"]
    todo, seen = set(), set()
    for item in spec["paths"].values():
        for op in item.values():
            if not isinstance(op, dict):
                continue
            for param in op.get("parameters", []):
                _declare_no_nul(param.get("schema"))
            body = op.get("requestBody", {})
            _declare_no_nul(body)
            todo |= _refs(body)
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        _declare_no_nul(schemas[name])
        todo |= _refs(schemas[name])


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def _used_schemas(spec: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The component schemas the paths refer to, directly or through other components."""
    used: set[str] = set()
    todo = _refs(spec["paths"])
    while todo:
        name = todo.pop()
        if name in used or name not in schemas:
            continue
        used.add(name)
        todo |= _refs(schemas[name])
    return {name: schemas[name] for name in sorted(used)}


def build(raw: dict[str, Any]) -> dict[str, Any]:
    """The served document from the one BentoML builds (``OpenAPISpecification.asdict()``, not modified)."""
    spec = copy.deepcopy(raw)
    spec["openapi"] = OPENAPI_VERSION
    spec["info"] = {"title": TITLE, "description": DESCRIPTION, "version": package_version()}
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _strip_bentoml_flags(schemas)
    _strip_bentoml_flags(spec["paths"])
    schemas[ERROR_SCHEMA] = ErrorResponse.model_json_schema(ref_template=REF.replace("{}", "{model}"))
    schemas["MLflowWebhook"] = MLflowWebhook.model_json_schema(ref_template=REF.replace("{}", "{model}"))
    for path, item in spec["paths"].items():
        if path.startswith(PROTECTED_PREFIX):
            for method in METHODS:
                if isinstance(item.get(method), dict):
                    item[method] = _operation(method, path, item[method], schemas)
    components["schemas"] = _used_schemas(spec, schemas)
    _declare_no_nul_in_requests(spec)
    components["securitySchemes"] = {**components.get("securitySchemes", {}), **SECURITY_SCHEMES}
    return spec


class Document:
    """The served document: what BentoML's ``/docs.json`` view and ``bentoml build`` ask for (``asdict``)."""

    def __init__(self, data: dict[str, Any]):
        self.data = data

    def asdict(self) -> dict[str, Any]:
        return copy.deepcopy(self.data)


yaml.add_representer(Document, lambda dumper, doc: dumper.represent_dict(doc.asdict()))  # bentoml build


def document(spec: Any) -> Document:
    """The OpenAPI document of :func:`build` from ``spec`` (BentoML's ``OpenAPISpecification``)."""
    return Document(build(spec.asdict()))


class DocumentedService(bentoml.Service):
    """A BentoML service whose OpenAPI document is :func:`document` of the one BentoML builds."""

    @property
    def openapi_spec(self) -> Any:
        return document(super().openapi_spec)
