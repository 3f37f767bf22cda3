"""Prometheus HTTP metrics labelled by route template, not by the raw request path (issue 18).

BentoML 1.4's HTTP metrics middleware (``RunnerTrafficMetricsMiddleware`` in
``bentoml._internal.server.http.instruments``, the one a 1.4 service uses) labels ``request_total``,
``request_duration_seconds`` and ``request_in_progress`` with ``endpoint=scope["path"]``: every distinct path,
``/ml/tune/status/17`` as well as a scanner's ``/wp-login.php``, becomes new series, so ``/metrics`` grows
without bound (2,000 random paths: 1.3 MB to 10.7 MB, a scrape of 8.7 s).

:func:`install` puts a subclass in its place (before the service's app is built, which imports it from that
module then) that hands the metrics code a copy of the scope whose ``path`` is the route template
(``/ml/tune/status/{job_id}``; :data:`UNMATCHED` for a path no route serves) and gives the app behind it the
real path back, so routing, the access log and the handlers see the request unchanged. The series are then
bounded by routes x status codes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

UNMATCHED = "unmatched"
ORIGINAL_PATH = "abtpro.original_path"
#: BentoML's own routes of a 1.4 service (system routes, index, docs, OpenAPI, schema) and its static mounts.
BENTOML_ROUTES = ("/", "/livez", "/healthz", "/readyz", "/metrics", "/docs", "/docs.json", "/schema.json")
BENTOML_MOUNTS = ("/static_content", "/assets")
_MARK = "_abtpro_route_labels"


class RouteLabels:
    """Maps a request path to the template of the route that serves it."""

    def __init__(self, templates: Iterable[str], mounts: Iterable[str] = BENTOML_MOUNTS):
        self.exact: set[str] = set()
        self.patterns: list[tuple[re.Pattern[str], str]] = []
        for template in templates:
            if "{" in template:
                regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
                self.patterns.append((re.compile(regex + "/?"), template))
            else:
                self.exact.add(template)
        self.mounts = tuple(m.rstrip("/") for m in mounts)

    def __call__(self, path: str) -> str:
        if path in self.exact:
            return path
        trimmed = path.rstrip("/") or "/"
        if trimmed in self.exact:
            return trimmed
        for pattern, template in self.patterns:
            if pattern.fullmatch(path):
                return template
        for mount in self.mounts:
            if path.startswith(mount + "/"):
                return mount + "/{path}"
        return UNMATCHED


class _RestorePath:
    """The app behind the metrics middleware: gets the real path back."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if ORIGINAL_PATH in scope:
            scope = dict(scope)
            scope["path"] = scope.pop(ORIGINAL_PATH)
        await self.app(scope, receive, send)


def install(labels: RouteLabels) -> bool:
    """Replace BentoML's HTTP metrics middleware by one labelling with ``labels`` (idempotent; the newest
    ``labels`` wins). False when this BentoML has no such middleware (nothing patched)."""
    from bentoml._internal.server.http import instruments

    base = getattr(instruments, "RunnerTrafficMetricsMiddleware", None)
    if base is None:
        return False
    if getattr(base, _MARK, False):
        base.labels = staticmethod(labels)
        return True

    class RouteLabelledMetricsMiddleware(base):  # type: ignore[misc, valid-type]
        """BentoML's HTTP metrics middleware, labelled by route template."""

        def __init__(self, app: Any, *args: Any, **kwargs: Any):
            super().__init__(_RestorePath(app), *args, **kwargs)

        async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"].startswith("http") and scope.get("path") != "/metrics":
                label = self.labels(scope["path"])
                if label != scope["path"]:
                    scope = {**scope, "path": label, ORIGINAL_PATH: scope["path"]}
            await super().__call__(scope, receive, send)

    RouteLabelledMetricsMiddleware.labels = staticmethod(labels)
    setattr(RouteLabelledMetricsMiddleware, _MARK, True)
    instruments.RunnerTrafficMetricsMiddleware = RouteLabelledMetricsMiddleware
    return True
