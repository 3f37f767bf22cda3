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

Modules: :mod:`serving.openapi.declarations` (title, description, key scheme, the status codes of the routes),
:mod:`serving.openapi.operations` (one ``/ml`` operation), :mod:`serving.openapi.components` (the component
schemas: BentoML's flags, the NUL rule, the schemas in use), :mod:`serving.openapi.served` (:func:`build`,
:class:`Document`, :class:`DocumentedService`).
"""

from serving.openapi.components import NO_NUL
from serving.openapi.declarations import (
    ACCEPTED_ROUTES,
    ADMIN_NOTE,
    COMMON_ERRORS,
    DESCRIPTION,
    ERROR_SCHEMA,
    ERRORS,
    METHODS,
    OPENAPI_VERSION,
    POST_ERRORS,
    REF,
    ROLE_ROUTES,
    ROUTE_ERRORS,
    SCHEME,
    SECURITY_SCHEMES,
    TITLE,
    package_version,
)
from serving.openapi.served import Document, DocumentedService, build, document

__all__ = [
    "ACCEPTED_ROUTES",
    "ADMIN_NOTE",
    "COMMON_ERRORS",
    "DESCRIPTION",
    "ERRORS",
    "ERROR_SCHEMA",
    "METHODS",
    "NO_NUL",
    "OPENAPI_VERSION",
    "POST_ERRORS",
    "REF",
    "ROLE_ROUTES",
    "ROUTE_ERRORS",
    "SCHEME",
    "SECURITY_SCHEMES",
    "TITLE",
    "Document",
    "DocumentedService",
    "build",
    "document",
    "package_version",
]
