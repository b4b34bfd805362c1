"""The service's outer middleware: server span, instance header and HTTP metric in one layer.

They were three stacked ASGI middlewares, each wrapping the request in a coroutine and its
``send`` in a closure: three frames and three closures per request and per response message.
One layer does all three with one ``send`` wrapper, in the order the stack had: the span
outermost (the header, the metric, the request guard and every handler run inside it, so
their logs carry its trace id), the metric recorded before the span ends.
"""

from __future__ import annotations

import time

from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode, TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ikmkit.service.instance import INSTANCE_HEADER
from ikmkit.telemetry.http_metrics import observe_duration
from ikmkit.telemetry.http_tracing import finish_server_span, start_server_span


class ServiceEdge:
    """Traces (except ``untraced`` paths), stamps ``ikm-instance`` and measures each request."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        instance: str,
        tracer_provider: TracerProvider,
        untraced: frozenset[str],
    ) -> None:
        self.app = app
        self.service = service
        self.header = (INSTANCE_HEADER.encode(), instance.encode())
        self.tracer = tracer_provider.get_tracer("ikmkit.telemetry.http_tracing")
        self.untraced = untraced

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.untraced:
            await self._measured(scope, receive, send, None)
            return
        span = start_server_span(self.tracer, scope)
        with trace.use_span(span, end_on_exit=False, record_exception=False):
            await self._measured(scope, receive, send, span)

    async def _measured(
        self, scope: Scope, receive: Receive, send: Send, span: trace.Span | None
    ) -> None:
        started = time.perf_counter()
        status = 500

        async def stamped(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message["headers"] = [*message.get("headers", []), self.header]
            await send(message)

        try:
            await self.app(scope, receive, stamped)
        except Exception as exc:
            if span is not None:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
            raise
        finally:
            observe_duration(self.service, scope, status, started)
            if span is not None:
                finish_server_span(span, scope, scope["method"], status)
