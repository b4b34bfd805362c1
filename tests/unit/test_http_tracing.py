"""Each HTTP request to a service is one SERVER span, named by its route template, by the
current HTTP semantic conventions, child of the caller's span when the caller sends one; no
per-operation spans beside it, none for probes and scrapes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from ikmkit.service.runtime import create_service_app
from ikmkit.telemetry.http_tracing import HttpServerTracing
from ikmkit.telemetry.otel import setup_tracing
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from tests.support.service import auth_headers

CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{CALLER_TRACE}-b7ad6b7169203331-01"


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_tracing("registry").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # the processor stays on the global provider but stores nothing more


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_service_app(definition(RegistrySettings()))
    # No lifespan, so no runtime: a route that needs it fails (500), which is all these need.
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as c:
        yield c


def only_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    finished = exporter.get_finished_spans()
    assert len(finished) == 1, [s.name for s in finished]
    return finished[0]


async def test_a_request_is_one_server_span_named_by_its_route(
    spans: InMemorySpanExporter, client: httpx.AsyncClient
) -> None:
    response = await client.get(
        "/enterprises/1234567890123",
        headers={**auth_headers("ministry"), "traceparent": TRACEPARENT},
    )
    span = only_span(spans)
    assert span.kind == SpanKind.SERVER
    assert span.name == "GET /enterprises/{nib}"
    assert span.attributes is not None
    assert span.attributes["http.request.method"] == "GET"
    assert span.attributes["http.route"] == "/enterprises/{nib}"
    assert span.attributes["url.path"] == "/enterprises/1234567890123"
    assert span.attributes["http.response.status_code"] == response.status_code
    assert format(span.context.trace_id, "032x") == CALLER_TRACE
    assert span.parent is not None and span.parent.span_id == 0xB7AD6B7169203331


async def test_an_unrouted_request_is_named_by_its_method(
    spans: InMemorySpanExporter, client: httpx.AsyncClient
) -> None:
    response = await client.get("/no/such/thing")
    assert response.status_code == 404
    span = only_span(spans)
    assert span.name == "GET"
    assert span.attributes is not None
    assert "http.route" not in span.attributes
    assert span.attributes["http.response.status_code"] == 404


async def test_probes_and_scrapes_are_not_traced(
    spans: InMemorySpanExporter, client: httpx.AsyncClient
) -> None:
    for path in ("/healthz", "/metrics"):
        await client.get(path)
    assert spans.get_finished_spans() == ()


async def test_an_unhandled_error_marks_the_span_and_keeps_the_exception() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("broken")

    app.add_middleware(HttpServerTracing, tracer_provider=provider, excluded=frozenset())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.get("/boom")).status_code == 500
    (span,) = exporter.get_finished_spans()
    assert span.name == "GET /boom"
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["http.response.status_code"] == 500
    assert [e.name for e in span.events] == ["exception"]
