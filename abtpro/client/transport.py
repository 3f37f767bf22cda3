"""The transport of every call: the retried HTTP request (:class:`Transport`), :class:`ABTProError`, the
service's per-call limits and the batch helpers."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)
RETRY_STATUSES = frozenset({502, 503, 504})
MAX_SIGNALS, MAX_FORECASTS, MAX_BARS = 1000, 1000, 10_000  # the service's per-call limits


class ABTProError(Exception):
    """The service refused a request: ``status``, its JSON ``body`` (``error``; a 422 also names the failing
    ``fields``) and the request ``path``."""

    def __init__(self, status: int, body: Any, path: str) -> None:
        self.status, self.body, self.path = status, body, path
        self.fields: list[str] = list(body.get("fields") or []) if isinstance(body, dict) else []
        super().__init__(f"{path}: {status} {body.get('error') if isinstance(body, dict) else body}")


class Transport:
    """The ``/ml`` API's HTTP transport: the key, the retries with backoff, the answer as its model (the
    arguments are :class:`~abtpro.client.ABTProClient`'s)."""

    def __init__(self, base_url: str = "http://127.0.0.1:3000", api_key: str | None = None, *,
                 timeout: float = 30.0, retries: int = 3, backoff: float = 0.5,
                 http: httpx.Client | None = None) -> None:
        self._own = http is None
        self.http = http if http is not None else httpx.Client(base_url=base_url, timeout=timeout)
        self.headers = {"X-API-Key": api_key} if api_key else {}
        self.retries, self.backoff = retries, backoff

    def close(self) -> None:
        if self._own:
            self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _call(self, method: str, path: str, answer: type[M], body: BaseModel | None = None,
              params: dict[str, Any] | None = None) -> M:
        json = None if body is None else body.model_dump(mode="json", exclude_none=True)
        query = {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in (params or {}).items()
                 if v is not None}
        for attempt in range(self.retries + 1):
            try:
                response = self.http.request(method, path, json=json, params=query, headers=self.headers)
            except httpx.TransportError:
                if attempt == self.retries:
                    raise
            else:
                if response.status_code < 400:
                    return answer.model_validate(response.json())
                if response.status_code not in RETRY_STATUSES or attempt == self.retries:
                    raise ABTProError(response.status_code, _body(response), path)
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")


class _Empty(BaseModel):
    pass


def _chunks(items: Sequence[M], size: int) -> Iterable[list[M]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text
