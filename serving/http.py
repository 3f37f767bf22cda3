"""What every route group shares: JSON error answers, the domain-error mapping, the caller, the counter of
served predictions and the GET app mounted at ``/ml``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bentoml
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import JSONResponse

from serving import db_errors
from serving.auth import current_user
from serving.inference import BadInputError, NotFoundError
from serving.models import NoChampionError
from serving.schemas import Explanation
from serving.tuning import ConflictError, JobStartError, QuotaError
from store.users import ApiUser

MAX_INT32 = 2**31 - 1  # ids and offsets are 32-bit integers in the database

PREDICTIONS = bentoml.metrics.Counter(
    name="abtpro_predictions",
    documentation="Scores/forecasts served, per registered model name and version.",
    labelnames=["model", "version", "endpoint"],
)


def make_get_app(*routers: Any) -> FastAPI:
    """The FastAPI app of the GET endpoints (mounted at ``/ml``): validation errors answer 422 naming the
    field, an unreachable database 503."""
    app = FastAPI(title="ABTPro ML API (GET endpoints)", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(_single_valued_query)])
    db_errors.install_fastapi(app)
    app.add_exception_handler(RequestValidationError, _validation_error)
    for router in routers:
        app.include_router(router)
    return app


def _single_valued_query(request: Request) -> None:
    """Every GET parameter is one value: ``?symbol=A&symbol=B`` is a 422 naming it, not silently the last one."""
    items = request.query_params.multi_items()
    names = [key for key, _ in items]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise RequestValidationError([{"loc": ("query", name), "msg": "given more than once: send one value",
                                       "type": "value_error"} for name in repeated])
    with_nul = sorted({key for key, value in items if "\x00" in value or "\x00" in key})
    if with_nul:  # no text column of either database takes one (PostgreSQL refuses it outright)
        raise RequestValidationError([{"loc": ("query", name), "msg": "contains a NUL character",
                                       "type": "value_error"} for name in with_nul])


async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
    fields = [".".join(str(p) for p in e.get("loc", []) if p not in ("query", "path", "body")).replace("\x00", "\\x00")
              for e in exc.errors()]
    message = "; ".join(f"{f}: {e.get('msg', '')}" for f, e in zip(fields, exc.errors()))
    detail = [{"loc": list(e.get("loc", [])), "msg": e.get("msg"), "type": e.get("type")} for e in exc.errors()]
    return JSONResponse({"error": f"invalid request: {message}", "fields": fields, "detail": detail}, 422)


def error(status: int, message: str, ctx: bentoml.Context | None = None, headers: dict[str, str] | None = None,
          **extra: Any) -> JSONResponse:
    """A JSON error answer ``{"error": ..., ...}``.

    BentoML copies ``ctx.response.status_code`` onto whatever a handler that takes ``ctx`` returns,
    so the status is set there too.
    """
    if ctx is not None:
        ctx.response.status_code = status
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)


def guarded(fn: Callable[[], Any], ctx: bentoml.Context | None = None) -> Any:
    """Run a handler body, mapping domain errors to 404 / 409 / 422 / 429 / 503 answers."""
    try:
        return fn()
    except NoChampionError as exc:
        return error(503, str(exc), ctx)
    except NotFoundError as exc:
        return error(404, str(exc), ctx)
    except BadInputError as exc:
        return error(422, f"invalid request: {exc.field}: {exc}", ctx, fields=[exc.field])
    except ConflictError as exc:
        return error(409, str(exc), ctx)
    except JobStartError as exc:
        return error(503, str(exc), ctx)
    except QuotaError as exc:
        return error(429, str(exc), ctx, headers={"Retry-After": str(exc.retry_after)})
    except Exception as exc:
        if not db_errors.is_db_unavailable(exc):
            raise
        db_errors.log(exc)
        return error(503, db_errors.MESSAGE, ctx)


def caller(ctx: bentoml.Context) -> ApiUser:
    """The authenticated user of a POST handler's request."""
    return current_user(ctx.request.scope)


def too_many(items: list[Any], limit: int, field: str, ctx: bentoml.Context) -> JSONResponse | None:
    """A 422 naming ``field`` when a batch holds more than ``limit`` items, else None."""
    if len(items) > limit:
        return error(422, f"invalid request: {field}: at most {limit} items", ctx, fields=[field])
    return None


def explanation(raw: dict[str, Any] | None) -> Explanation | None:
    """The API form of an inference result's explanation (None when there is none)."""
    return None if raw is None else Explanation(**raw)
