"""The server span of each HTTP request, by the current HTTP semantic conventions.

A pure ASGI middleware in place of the OTel FastAPI instrumentation, which cost about a
quarter of a registration's CPU: it matched the request against every route of the app a
second time (FastAPI had just routed it) to name the span, and collected, decoded and set
each attribute twice, with a metrics pass whose meter was a no-op. Here the span starts with
the method, path and scheme; its name (``POST /enterprises``) and ``http.route`` come from the
route FastAPI matched (``scope["route"]``) once the request is answered; the status code from
the response. The caller's ``traceparent`` (W3C) makes it a child of the caller's span.
A service starts and ends it in ``ikmkit.service.edge.ServiceEdge``; ``HttpServerTracing``
is the same span as a middleware of its own, for an app without the service's edge.
"""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_PROPAGATED = frozenset({b"traceparent", b"tracestate", b"baggage"})


class HttpServerTracing:
    """Starts a SERVER span per HTTP request (except ``excluded`` paths) and makes it current."""

    def __init__(
        self, app: ASGIApp, *, tracer_provider: TracerProvider, excluded: frozenset[str]
    ) -> None:
        self.app = app
        self.tracer = tracer_provider.get_tracer("ikmkit.telemetry.http_tracing")
        self.excluded = excluded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.excluded:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        span = start_server_span(self.tracer, scope)
        status = 500

        async def observe_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with trace.use_span(span, end_on_exit=False, record_exception=False):
            try:
                await self.app(scope, receive, observe_status)
            except Exception as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                raise
            finally:
                finish_server_span(span, scope, method, status)


def start_server_span(tracer: trace.Tracer, scope: Scope) -> trace.Span:
    """The request's SERVER span, a child of the caller's if it sent a ``traceparent``."""
    method: str = scope["method"]
    return tracer.start_span(
        method, context=_caller_context(scope), kind=SpanKind.SERVER,
        attributes={
            "http.request.method": method, "url.path": scope["path"],
            "url.scheme": scope.get("scheme", "http"),
        },
    )  # fmt: skip


def _caller_context(scope: Scope) -> Context | None:
    """The propagated context of the caller, if its request carries one."""
    carrier = {
        name.decode(): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in _PROPAGATED
    }
    return propagate.extract(carrier) if carrier else None


def finish_server_span(span: trace.Span, scope: Scope, method: str, status: int) -> None:
    route = getattr(scope.get("route"), "path", None)
    if route:  # no route matched (404): the conventions name the span by its method alone
        span.update_name(f"{method} {route}")
        span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()
