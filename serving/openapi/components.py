"""The component schemas: BentoML's internal flags dropped, the NUL rule on what clients send, the schemas in
use."""

from __future__ import annotations

from typing import Any


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

