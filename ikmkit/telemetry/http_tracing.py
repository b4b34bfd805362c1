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

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ikmkit.telemetry.provider import own_tracer, unheard_span
from ikmkit.telemetry.span_attributes import set_clean_attributes
from ikmkit.telemetry.tracecontext import extract_parent, parent_context

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
    """The request's SERVER span, a child of the caller's if it sent a ``traceparent``
    (else of the current span, if any).

    Not recorded when no span processor would receive it (its context alone is seen, in
    logs and the ``traceparent`` of the events the request records); its attributes are set
    once it records, as the SDK would store them (``set_clean_attributes``)."""
    method: str = scope["method"]
    context = _caller_context(scope)
    found = trace.get_current_span(context).get_span_context()
    quiet = unheard_span(found if found.is_valid else None, tracer)
    if quiet is not None:
        return quiet
    attributes = {
        "http.request.method": method,
        "url.path": scope["path"],
        "url.scheme": scope.get("scheme", "http"),
    }
    if not own_tracer(tracer):  # a sampler of unknown kind may decide by the attributes
        return tracer.start_span(
            method, context=context, kind=SpanKind.SERVER, attributes=attributes
        )
    span = tracer.start_span(method, context=context, kind=SpanKind.SERVER)
    set_clean_attributes(span, attributes)
    return span


def _caller_context(scope: Scope) -> Context | None:
    """The propagated context of the caller, if its request carries one."""
    carrier = {
        name.decode(): value.decode("latin-1")
        for name, value in scope["headers"]
        if name in _PROPAGATED
    }
    if not carrier:
        return None
    parent, context = extract_parent(carrier)
    return parent_context(parent) if context is None else context


def finish_server_span(span: trace.Span, scope: Scope, method: str, status: int) -> None:
    if not span.is_recording():
        span.end()
        return
    route = getattr(scope.get("route"), "path", None)
    answered: dict[str, str | int] = {"http.response.status_code": status}
    if route:  # no route matched (404): the conventions name the span by its method alone
        span.update_name(f"{method} {route}")
        answered = {"http.route": route, **answered}
    set_clean_attributes(span, answered)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))
    span.end()
