"""What the document declares: title, description and version, the key scheme, and the status codes of the
routes (every ``/ml`` operation, every POST, particular routes)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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

