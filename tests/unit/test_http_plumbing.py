"""What FastAPI and the middlewares do on every request of every service, kept small: each
dependency is a solve per request, each middleware a coroutine and a ``send`` closure."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import ModuleType

import httpx
import pytest
from fastapi.routing import APIRoute
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY

from ikmkit.service.edge import ServiceEdge
from ikmkit.service.http import RequestGuard
from ikmkit.service.instance import INSTANCE_ENV, INSTANCE_HEADER
from ikmkit.service.runtime import create_service_app
from ikmkit.telemetry.otel import setup_tracing
from services.insights import api as insights_api
from services.notify import api as notify_api
from services.registry import api as registry_api
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from services.subsidy import api as subsidy_api
from services.training import api as training_api
from tests.support.service import auth_headers

SERVICE_APIS = [registry_api, subsidy_api, training_api, notify_api, insights_api]


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_tracing("registry").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_service_app(definition(RegistrySettings()))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as c:
        yield c


def test_a_registration_solves_the_caller_and_the_deps_with_nothing_under_them() -> None:
    (route,) = [
        r
        for r in registry_api.router.routes
        if isinstance(r, APIRoute) and r.path == "/enterprises" and "POST" in r.methods
    ]
    assert [d.name for d in route.dependant.dependencies] == ["caller", "deps"]


@pytest.mark.parametrize("api", SERVICE_APIS, ids=lambda api: api.__name__)
def test_no_endpoint_dependency_has_dependencies_of_its_own(api: ModuleType) -> None:
    routes = [r for r in api.router.routes if isinstance(r, APIRoute)]
    assert routes
    for route in routes:
        nested = {d.name: d.dependencies for d in route.dependant.dependencies if d.dependencies}
        assert nested == {}, route.path


def test_one_middleware_outside_the_request_guard() -> None:
    app = create_service_app(definition(RegistrySettings()))
    assert [m.cls for m in app.user_middleware] == [ServiceEdge, RequestGuard]


async def test_a_probe_is_stamped_and_measured_but_not_traced(
    spans: InMemorySpanExporter, client: httpx.AsyncClient
) -> None:
    labels = {
        "service_name": "registry",
        "http_request_method": "GET",
        "http_route": "/healthz",
        "http_response_status_code": "200",
    }
    before = REGISTRY.get_sample_value("http_server_request_duration_seconds_count", labels)
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers[INSTANCE_HEADER]
    after = REGISTRY.get_sample_value("http_server_request_duration_seconds_count", labels)
    assert after == (before or 0) + 1
    assert spans.get_finished_spans() == ()


async def test_a_traced_answer_carries_the_instance_header_once(
    spans: InMemorySpanExporter, client: httpx.AsyncClient
) -> None:
    response = await client.get("/enterprises/1234567890123")  # 401, answered by a handler
    assert response.headers.get_list(INSTANCE_HEADER) == [response.headers[INSTANCE_HEADER]]
    (span,) = spans.get_finished_spans()
    assert span.name == "GET /enterprises/{nib}"


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc"]
)
async def test_no_bearer_token_is_a_401_problem(
    client: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get("/enterprises/1234567890123", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["detail"] == "missing bearer token"


async def test_the_scheme_name_is_case_insensitive(client: httpx.AsyncClient) -> None:
    token = auth_headers("ministry")["Authorization"].split(" ", 1)[1]
    response = await client.get(
        "/enterprises/1234567890123", headers={"Authorization": f"bearer {token}"}
    )
    assert response.status_code != 401


async def test_the_instance_header_names_the_launchers_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(INSTANCE_ENV, "child-7")
    app = create_service_app(definition(RegistrySettings()))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as c:
        for path in ("/healthz", "/enterprises/1234567890123", "/no/such/thing"):
            assert (await c.get(path)).headers.get_list(INSTANCE_HEADER) == ["child-7"]
