"""The served document: :func:`build` from BentoML's, :class:`Document` (also for ``bentoml build``) and
:class:`DocumentedService`."""

from __future__ import annotations

import copy
from typing import Any

import bentoml
import yaml

from serving.auth import PROTECTED_PREFIX
from serving.openapi.components import _declare_no_nul_in_requests, _strip_bentoml_flags, _used_schemas
from serving.openapi.declarations import (
    DESCRIPTION,
    ERROR_SCHEMA,
    METHODS,
    OPENAPI_VERSION,
    REF,
    SECURITY_SCHEMES,
    TITLE,
    package_version,
)
from serving.openapi.operations import _operation
from serving.schemas import ErrorResponse, MLflowWebhook


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

