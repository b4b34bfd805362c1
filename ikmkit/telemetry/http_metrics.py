"""The one HTTP metric: ``http_server_request_duration_seconds`` per method, route and status.

Observed by ``ikmkit.service.edge.ServiceEdge`` (a pure ASGI middleware, no task per request,
unlike ``BaseHTTPMiddleware``) outside the request guard, so requests refused before routing
(413) are measured too. The server span is
``ikmkit.telemetry.http_tracing``'s (it records no metric).
"""

from __future__ import annotations

import time

from starlette.types import Scope

from ikmkit.telemetry import metrics

# Semantic conventions: any other method is reported as _OTHER (bounded cardinality).
KNOWN_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"}
)


def observe_duration(service: str, scope: Scope, status: int, started: float) -> None:
    """Records one request's duration since ``started`` (``time.perf_counter``)."""
    method = scope["method"] if scope["method"] in KNOWN_METHODS else "_OTHER"
    # No route matched: the convention omits http.route; Prometheus reads "" as absent.
    route = getattr(scope.get("route"), "path", "")
    metrics.HTTP_SERVER_DURATION.labels(service, method, route, str(status)).observe(
        time.perf_counter() - started
    )
