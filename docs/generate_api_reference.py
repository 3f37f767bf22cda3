"""Write docs/api_reference.md from the BentoML service's OpenAPI spec.

    .venv/bin/python docs/generate_api_reference.py           # rewrite the file
    .venv/bin/python docs/generate_api_reference.py --check   # exit 1 when the file is out of date
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "api_reference.md"
HEADER = """# API reference (generated)

Generated from the OpenAPI spec of `serving.service:MLService` by `docs/generate_api_reference.py`;
do not edit by hand. Every `/ml` endpoint requires the header `X-API-Key` (create keys with
`abtpro users create NAME [--role feeder|admin]`); the live, interactive version is the service's Swagger UI at `/`
and the raw spec (OpenAPI 3.1.0) at `/docs.json`.

Datetimes: request fields are RFC 3339 (`2019-06-03T00:00:00Z`, `...+02:00`); a time without an offset is read
as UTC. Every response datetime is UTC with the `Z` designator. Fields typed `... or null` may be `null`.

Every error answer is an `ErrorResponse` (`error` says what is wrong; a `422` lists the failing `fields`);
each endpoint below lists the status codes it answers. `400` a body that is not JSON at all, `401`
missing/unknown key, `403` not an admin (admin-only endpoints) or not a feeder (`POST /ml/bars`), `404` unknown
symbol or job, `413` request body over `ABTPRO_SERVING_MAX_BODY_BYTES` (16 MiB), `415` a POST body that is not
`application/json` (a POST without `Content-Type` is read as JSON), `422` invalid payload (the body names the
failing field: also non-finite numbers, numbers as datetimes, `0`/`1` as booleans, inline bars out of order or
after the server clock, an origin after the clock or after the last inline bar), `429` tuning quota reached
(`Retry-After` says when to retry), `409` a job not in the state the call needs, `503` no champion model yet or
the database unreachable. `POST /ml/models/train` and `POST /ml/tune/start` answer `202` (the job is queued).
Scores and forecasts from inline `bars` are stored flagged caller-supplied and left out of live accuracy,
outcome backfill and drift.
"""


def _ref_name(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"list[{_ref_name(schema.get('items', {}))}]"
    if "anyOf" in schema:
        return " or ".join(_ref_name(s) for s in schema["anyOf"])
    return schema.get("type", "object")


def _fields(schema: dict[str, Any], components: dict[str, Any]) -> list[str]:
    if "$ref" in schema:
        schema = components.get(schema["$ref"].rsplit("/", 1)[-1], {})
    required = set(schema.get("required", []))
    rows = []
    for name, prop in schema.get("properties", {}).items():
        desc = (prop.get("description") or "").replace("\n", " ")
        rows.append(f"| `{name}` | {_ref_name(prop)} | {'yes' if name in required else 'no'} | {desc} |")
    return rows


def render(spec: dict[str, Any]) -> str:
    components = spec.get("components", {}).get("schemas", {})
    lines = [HEADER]
    for path, methods in sorted(spec["paths"].items()):
        if not path.startswith("/ml"):
            continue
        for method, op in methods.items():
            lines += [f"## `{method.upper()} {path}`", ""]
            text = (op.get("description") or op.get("summary") or "").strip()
            if text:
                lines += [text, ""]
            params = op.get("parameters", [])
            if params:
                lines += ["| parameter | in | type | required |", "|---|---|---|---|"]
                lines += [f"| `{p['name']}` | {p.get('in')} | {_ref_name(p.get('schema', {}))} | "
                          f"{'yes' if p.get('required') else 'no'} |" for p in params]
                lines.append("")
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body:
                lines += [f"Request body: `{_ref_name(body)}`", "", "| field | type | required | description |",
                          "|---|---|---|---|", *_fields(body, components), ""]
            responses = op.get("responses", {})
            success = next((c for c in responses if str(c).startswith("2")), "200")
            ok = responses.get(success, {}).get("content", {}).get("application/json", {}).get("schema")
            if ok:
                lines += [f"Response `{success}`: `{_ref_name(ok)}`", "", "| field | type | required | description |",
                          "|---|---|---|---|", *_fields(ok, components), ""]
            errors = [str(c) for c in responses if not str(c).startswith("2")]
            if errors:
                lines += ["Errors: " + ", ".join(f"`{c}`" for c in errors), ""]
    return "\n".join(lines).rstrip() + "\n"


def current_spec() -> dict[str, Any]:
    from serving.service import MLService

    return MLService.openapi_spec.asdict()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = render(current_spec())
    if args.check:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} is out of date: run docs/generate_api_reference.py", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
