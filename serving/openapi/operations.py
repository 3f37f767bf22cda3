"""One ``/ml`` operation: its body and answers by reference, every status code it answers, the key, admin and role
notes."""

from __future__ import annotations

import copy
from typing import Any

from serving.auth import ADMIN_ROUTES, SIGNED_ROUTES
from serving.openapi.declarations import (
    _HEADERS,
    ACCEPTED_ROUTES,
    ADMIN_NOTE,
    COMMON_ERRORS,
    ERROR_SCHEMA,
    ERRORS,
    POST_ERRORS,
    REF,
    ROLE_ROUTES,
    ROUTE_ERRORS,
    SCHEME,
)


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

