"""The service's OpenAPI document (``/docs.json``, the Swagger page at ``/``): the project's title,
description and package version, and the ``X-API-Key`` security scheme on every ``/ml`` route.

BentoML 1.4 builds the document from the service (its name as title, a generic BentoML README as
description, the version of a built Bento or ``"None"``). :class:`DocumentedService` is the service
class given to ``@bentoml.service(service_class=...)``: it takes that document and replaces the info
block, declares the ``X-API-Key`` scheme (so Swagger shows *Authorize*), marks each ``/ml`` operation as
needing it, and says on each admin-only route (:data:`serving.auth.ADMIN_ROUTES`) that it is one.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import attrs
import bentoml

from serving.auth import ADMIN_ROUTES, PROTECTED_PREFIX

TITLE = "ABTPro ML API"
DESCRIPTION = """\
Signal-quality scores and volatility forecasts of the ABTPro ML pipeline, with the models' history,
accuracy, training jobs and strategy tuning.

Every `/ml` route needs the header `X-API-Key` (create keys with `abtpro users create NAME [--role feeder|admin]`;
use *Authorize* to send one from this page). A missing or unknown key answers `401`; routes marked
**Admin only** answer `403` to other keys. Invalid payloads answer `422` naming the field; `503` means no
champion model is registered yet or the database cannot be reached right now."""
SCHEME = "X-API-Key"
SECURITY_SCHEMES = {SCHEME: {"type": "apiKey", "in": "header", "name": "X-API-Key",
                             "description": "An API key of an ABTPro user (`abtpro users create`)."}}
ADMIN_NOTE = "**Admin only**: needs the key of an admin user (`403` for other keys)."
UNAUTHORIZED = {"description": "Missing or unknown `X-API-Key`."}
FORBIDDEN = {"description": "The key is not an admin's (admin-only route)."}
#: Routes that need a role besides admin: (method, path) -> role (the handler answers 403 to other keys).
ROLE_ROUTES = {("POST", "/ml/bars"): "feeder"}
INVALID = {"description": "Invalid payload: `error` names each failing field (`fields`)."}
METHODS = ("get", "put", "post", "delete", "patch")


def package_version() -> str:
    """The installed version of the ``abtpro-ml`` distribution ("0.0.0" when it is not installed)."""
    try:
        return version("abtpro-ml")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was never pip-installed
        return "0.0.0"


def _operation(method: str, path: str, op: Any) -> Any:
    """``op`` (a dict operation of the document) marked as needing the key, and as admin-only when it is."""
    if not isinstance(op, dict):
        return op
    op = {**op, "security": [{SCHEME: []}], "responses": dict(op.get("responses", {}))}
    op["responses"].setdefault("401", UNAUTHORIZED)
    if (method.upper(), path) in ADMIN_ROUTES:
        text = (op.get("description") or "").strip().removeprefix("Admin: ")
        text = text[:1].upper() + text[1:]
        op["summary"] = f"Admin only: {text.splitlines()[0]}" if text else "Admin only"
        op["description"] = f"{ADMIN_NOTE}\n\n{text}" if text else ADMIN_NOTE
        op["responses"].setdefault("403", FORBIDDEN)
    if (role := ROLE_ROUTES.get((method.upper(), path))) is not None:
        note = f"**Role {role}**: needs the key of a `{role}` user or an admin (`403` for other keys)."
        op["description"] = f"{note}\n\n{(op.get('description') or '').strip()}"
        op["responses"].setdefault("403", {"description": f"The key has neither the {role} role nor admin."})
        op["responses"].setdefault("422", INVALID)
    return op


def document(spec: Any) -> Any:
    """The OpenAPI document ``spec`` (as BentoML builds it) with this API's info and security added."""
    info = attrs.evolve(spec.info, title=TITLE, description=DESCRIPTION, version=package_version(), contact=None)
    paths = {}
    for path, item in spec.paths.items():
        if path.startswith(PROTECTED_PREFIX):
            item = attrs.evolve(item, **{m: _operation(m, path, getattr(item, m)) for m in METHODS
                                         if getattr(item, m) is not None})
        paths[path] = item
    components = dict(spec.components or {})
    components["securitySchemes"] = {**components.get("securitySchemes", {}), **SECURITY_SCHEMES}
    return attrs.evolve(spec, info=info, paths=paths, components=components)


class DocumentedService(bentoml.Service):
    """A BentoML service whose OpenAPI document is :func:`document` of the one BentoML builds."""

    @property
    def openapi_spec(self) -> Any:
        return document(super().openapi_spec)
