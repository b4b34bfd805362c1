"""One HTTP metric, named and labelled by the OpenTelemetry semantic conventions, with buckets.

``http_server_request_duration_seconds`` (``http.server.request.duration``) is the only HTTP
metric a service exposes at ``/metrics``; the server span (``ikmkit.telemetry.http_tracing``)
traces, it does not measure a second time, and no bridge re-exports Prometheus metrics over OTLP.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY

from ikmkit.service.runtime import create_service_app
from services.registry.main import definition
from services.registry.settings import RegistrySettings


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_service_app(definition(RegistrySettings()))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as c:
        yield c


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_request_is_measured_once_with_semantic_convention_labels(
    client: httpx.AsyncClient,
) -> None:
    labels = {
        "service_name": "registry",
        "http_request_method": "GET",
        "http_route": "/enterprises/{nib}",
        "http_response_status_code": "401",
    }
    before = sample("http_server_request_duration_seconds_count", **labels)
    assert (await client.get("/enterprises/1234567890123")).status_code == 401
    assert sample("http_server_request_duration_seconds_count", **labels) == before + 1
    # Buckets survive (the OTel-recommended boundaries for http.server.request.duration).
    assert sample("http_server_request_duration_seconds_bucket", **labels, le="0.005") >= 0
    assert sample("http_server_request_duration_seconds_bucket", **labels, le="+Inf") == before + 1


async def test_an_unrouted_request_has_no_route_and_an_unknown_method_is_other(
    client: httpx.AsyncClient,
) -> None:
    unrouted = {
        "service_name": "registry",
        "http_request_method": "_OTHER",
        "http_route": "",
        "http_response_status_code": "404",
    }
    before = sample("http_server_request_duration_seconds_count", **unrouted)
    assert (await client.request("FOO", "/nope")).status_code in (404, 405)
    after = sample("http_server_request_duration_seconds_count", **unrouted) + sample(
        "http_server_request_duration_seconds_count",
        **{**unrouted, "http_response_status_code": "405"},
    )
    assert after == before + 1


async def test_metrics_exposes_exactly_one_http_metric(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    text = (await client.get("/metrics")).text
    families = set(re.findall(r"^# TYPE (\S+) ", text, flags=re.MULTILINE))
    http = {f for f in families if "http" in f and not f.endswith("_created")}
    assert http == {"http_server_request_duration_seconds"}
    assert "# TYPE http_server_request_duration_seconds histogram" in text


def test_no_prometheus_to_otel_bridge_is_left() -> None:
    from ikmkit.telemetry import otel

    for gone in ("bridge_prometheus", "metrics_provider", "setup_metrics_export"):
        assert not hasattr(otel, gone)
