"""Each of the five services' OpenAPI documents names its operations, its servers and its
bearer scheme, and declares every error status an operation can answer as an RFC 9457
problem (``ikmkit.service.openapi``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import pytest

from ikmkit.service.problems import MEDIA_TYPE
from ikmkit.service.runtime import ServiceDefinition, create_service_app
from services.insights.main import definition as insights_definition
from services.notify.main import definition as notify_definition
from services.registry.main import definition as registry_definition
from services.subsidy.main import definition as subsidy_definition
from services.training.main import definition as training_definition

DEFINITIONS: dict[str, Callable[..., ServiceDefinition[Any]]] = {
    "registry": registry_definition,
    "subsidy": subsidy_definition,
    "training": training_definition,
    "notify": notify_definition,
    "insights": insights_definition,
}
SERVICES = sorted(DEFINITIONS)
FASTAPI_DEFAULT_ID = re.compile(r"_(get|post|put|patch|delete|head|options)$")
WRITES = {"post", "put", "patch", "delete"}


@cache
def openapi(service: str) -> dict[str, Any]:
    return create_service_app(DEFINITIONS[service]()).openapi()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


@pytest.mark.parametrize("service", SERVICES)
def test_operation_ids_are_the_endpoint_names_and_unique(service: str) -> None:
    ids = [op["operationId"] for _, _, op in operations(openapi(service))]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    defaults = [i for i in ids if FASTAPI_DEFAULT_ID.search(i)]
    assert defaults == [], f"{service}: FastAPI default operationIds remain: {defaults}"
    assert {"healthz", "readyz", "audit_heads"} <= set(ids)


def test_registration_is_register_enterprise() -> None:
    assert openapi("registry")["paths"]["/enterprises"]["post"]["operationId"] == (
        "register_enterprise"
    )


@pytest.mark.parametrize("service", SERVICES)
def test_servers_and_the_bearer_scheme(service: str) -> None:
    document = openapi(service)
    assert document["servers"] and all(s["url"] for s in document["servers"])
    schemes = document["components"]["securitySchemes"]
    bearer = [name for name, s in schemes.items() if s.get("scheme") == "bearer"]
    assert len(bearer) == 1 and schemes[bearer[0]]["bearerFormat"] == "JWT"
    secured = [op for _, _, op in operations(document) if op.get("security")]
    assert secured, f"{service} has no secured operation"
    assert all(op["security"] == [{bearer[0]: []}] for op in secured)


def test_the_server_is_configurable() -> None:
    from services.registry.settings import RegistrySettings

    settings = RegistrySettings(public_url="https://ikm.example.go.id/registry")
    document = create_service_app(registry_definition(settings)).openapi()
    assert [s["url"] for s in document["servers"]] == ["https://ikm.example.go.id/registry"]


def expected_errors(method: str, operation: dict[str, Any]) -> set[str]:
    parameters = operation.get("parameters", [])
    expected = {"500"}
    if operation.get("security"):
        expected |= {"401", "403"}
    if any(p["in"] == "path" for p in parameters):
        expected.add("404")
    if method in WRITES:
        expected.add("409")
    if "requestBody" in operation:
        expected |= {"413", "422"}
    if parameters:
        expected.add("422")
    return expected


@pytest.mark.parametrize("service", SERVICES)
def test_every_error_status_is_declared_as_a_problem(service: str) -> None:
    document = openapi(service)
    missing = []
    for path, method, operation in operations(document):
        responses = operation["responses"]
        absent = expected_errors(method, operation) - set(responses)
        if absent:
            missing.append(f"{method.upper()} {path}: {sorted(absent)}")
        for status, response in responses.items():
            if status.startswith(("4", "5")) and status != "503":
                wanted = "ValidationProblem" if status == "422" else "Problem"
                assert response["content"] == {
                    MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{wanted}"}}
                }, f"{method.upper()} {path} {status}"
    assert missing == []
    schemas = document["components"]["schemas"]
    assert {"Problem", "ValidationProblem", "FieldProblem"} <= set(schemas)
    assert "HTTPValidationError" not in schemas
    assert set(schemas["Problem"]["required"]) >= {"type", "title", "status", "detail"}
    assert "errors" in schemas["ValidationProblem"]["required"]


def test_the_operations_the_issue_names() -> None:
    """Spot checks: a write with a path parameter and a body, a read, a public probe."""
    paths = openapi("registry")["paths"]
    assert set(paths["/enterprises/{nib}"]["patch"]["responses"]) >= {
        "401", "403", "404", "409", "413", "422", "500",
    }  # fmt: skip
    assert "409" not in paths["/enterprises"]["get"]["responses"]
    assert "WWW-Authenticate" in paths["/enterprises"]["get"]["responses"]["401"]["headers"]
    assert "Retry-After" in paths["/enterprises"]["post"]["responses"]["409"]["headers"]
    assert set(paths["/healthz"]["get"]["responses"]) == {"200", "500"}


def test_the_ops_routes_declare_their_503_as_a_problem_and_readyz_keeps_its_report() -> None:
    paths = openapi("registry")["paths"]
    problem = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path in ("/ops/outbox/parked/{event_id}/retry", "/ops/outbox/verify"):
        assert paths[path]["post"]["responses"]["503"]["content"] == problem, path
    readiness = paths["/readyz"]["get"]["responses"]["503"]["content"]
    assert readiness["application/json"]["schema"] == {"$ref": "#/components/schemas/Readiness"}
