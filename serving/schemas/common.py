"""Shared building blocks of the ``/ml`` schemas: the symbol and timeframe patterns, the server clock, the
datetime types (:data:`ApiDatetime` in requests, :data:`UtcDatetime` in answers, :data:`QueryDatetime` in GET
filters), the strict request base (:class:`_Strict`: no extra field, finite numbers, no NUL character),
:class:`ModelRef` and :class:`ErrorResponse`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

SYMBOL_PATTERN = r"^[A-Za-z0-9._^=/\-]{1,32}$"
TIMEFRAME_PATTERN = r"^[1-9][0-9]{0,3}(m|h|d|w)$"
_MINUTES = {"m": 1, "h": 60, "d": 1440, "w": 10080}


def timeframe_minutes(timeframe: str) -> int:
    """Minutes in one bar of ``timeframe`` (``"1d"`` -> 1440)."""
    m = re.fullmatch(TIMEFRAME_PATTERN, timeframe)
    if m is None:
        raise ValueError(f"bad timeframe {timeframe!r}")
    return int(timeframe[:-1]) * _MINUTES[timeframe[-1]]


def server_now() -> datetime:
    """The server clock, naive UTC (the time no bar or origin may be after)."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive_utc(ts: datetime) -> datetime:
    """``ts`` as naive UTC (an aware time is converted, a naive one is UTC already)."""
    return ts if ts.tzinfo is None else ts.astimezone(UTC).replace(tzinfo=None)


def _iso_text(value: Any) -> Any:
    if isinstance(value, (bool, int, float)) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise PydanticCustomError("datetime_type", "Input should be an ISO 8601 datetime string, not a number")
    return value


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
#: A datetime given as ISO 8601 text (pydantic's lax mode would read a number, or a number as text as in a query
#: string, as Unix seconds).
ApiDatetime = Annotated[datetime, BeforeValidator(_iso_text)]


def _utc_aware(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


#: A response datetime: naive UTC in Python (a client reading ``...Z`` gets naive UTC back, like the server's own
#: values), RFC 3339 with the UTC designator in JSON (``2018-01-02T00:00:00Z``), as ``format: date-time`` says.
UtcDatetime = Annotated[datetime, AfterValidator(naive_utc),
                        PlainSerializer(_utc_aware, return_type=datetime, when_used="json")]


#: A datetime filter of a GET route (``start``/``end``): ISO 8601 text, as naive UTC (an offset is converted).
QueryDatetime = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(naive_utc)]

def _not_in_future(value: datetime | None, info: ValidationInfo) -> datetime | None:
    if value is not None and naive_utc(value) > server_now():
        raise ValueError(f"{value.isoformat()} is in the future of the server clock ({server_now():%Y-%m-%dT%H:%M:%S}Z)")
    return value


def _has_nul(value: Any) -> bool:
    """A NUL in a text value or in a list of them (a nested model checks its own fields, naming them)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, str) and "\x00" in v for v in value)
    return False


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """No text of a request carries a NUL character: no text column takes one (PostgreSQL refuses it)."""
        if _has_nul(value):
            raise ValueError("contains a NUL character")
        return value


class ModelRef(BaseModel):
    """The registered model version that produced a result."""

    name: str
    version: str



class ErrorResponse(BaseModel):
    """Every error answer: ``error`` says what is wrong; a 422 names the failing fields."""

    error: str
    fields: list[str] | None = Field(default=None, description="422: the failing fields (dotted paths).")
    detail: Any = None

