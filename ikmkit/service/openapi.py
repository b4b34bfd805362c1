"""Each service's OpenAPI document says what a client meets: operationIds named after the
endpoint functions, the servers, the bearer scheme (JWT), and every error status an operation
can answer, as an RFC 9457 problem (``ikmkit.service.problems``).

The error statuses are read from the operations themselves, so routes added anywhere get
them: a secured operation can answer 401 and 403, one with a path parameter 404, a write
409 (a concurrent change, a duplicate, a state it cannot leave), one with a body 413, one
that takes any input 422; any can fail with 500.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from ikmkit.service.problems import MEDIA_TYPE, PROBLEM_BASE

WRITES = frozenset({"post", "put", "patch", "delete"})
DROPPED_SCHEMAS = ("HTTPValidationError", "ValidationError")
"""FastAPI's own 422 shape, which no service answers."""


class FieldProblem(BaseModel):
    """One failing field of a request and the rule it breaks."""

    model_config = ConfigDict(populate_by_name=True)

    pointer: str | None = Field(
        None, description="RFC 6901 JSON Pointer (URI fragment) into the body, e.g. #/owner_nik"
    )
    parameter: str | None = Field(None, description="The query, path or header parameter")
    in_: str | None = Field(None, alias="in", description="query, path, header or cookie")
    field: str | None = Field(description="The field, dotted (owners[0].name); null: the body")
    loc: list[str | int] = Field(description="Where, as FastAPI names it: ['body', 'nib']")
    rule: str = Field(description="The rule broken, e.g. invalid.nib_format (docs/errors.md)")
    type: str = Field(description="The rule's stable URI")
    detail: str = Field(description="What is wrong, for a person")
    context: dict[str, str | int | float | bool | None] | None = Field(
        None, description="The rule's limits (max_length, le, pattern...), never the input"
    )


class Problem(BaseModel):
    """An RFC 9457 problem: every error a service answers. Clients ignore members they do
    not know (RFC 9457 3.2), so new extensions are not a breaking change."""

    type: str = Field(
        description=f"The problem's stable URI ({PROBLEM_BASE}...)",
        json_schema_extra={"format": "uri"},
    )
    title: str = Field(description="Short summary of the problem type")
    status: int = Field(ge=100, le=599, description="The HTTP status code")
    detail: str = Field(description="What happened, for a person")
    instance: str = Field(
        description="The request path", json_schema_extra={"format": "uri-reference"}
    )
    rule: str = Field(description="The problem type as a short code (docs/errors.md)")
    errors: list[FieldProblem] | None = Field(None, description="The fields concerned")
    limit_bytes: int | None = Field(None, description="413: the body limit in bytes")


class ValidationProblem(Problem):
    """A 422: every field that breaks a rule, at once."""

    errors: list[FieldProblem] = Field(min_length=1, description="Every failing field")


STATUS_TEXT = {
    401: ("Problem", "No valid bearer token (unauthorized.*); answered with WWW-Authenticate"),
    403: ("Problem", "The caller's role or scope does not allow this (forbidden.*)"),
    404: ("Problem", "Nothing of that id, or not visible to the caller (not_found.*)"),
    409: ("Problem", "A conflict (conflict.*); conflict.concurrent carries Retry-After"),
    413: ("Problem", "The body is over the limit (too_large.body, limit_bytes)"),
    422: ("ValidationProblem", "Fields break rules: every one is listed in errors"),
    500: ("Problem", "The service failed (server.internal); nothing internal is shown"),
    503: ("Problem", "A dependency (the broker) did not answer (unavailable); retry later"),
}


HEADERS: dict[int, dict[str, Any]] = {
    401: {
        "WWW-Authenticate": {
            "description": "Bearer: the scheme to authenticate with",
            "schema": {"type": "string"},
        }
    },
    409: {
        "Retry-After": {
            "description": "conflict.concurrent only: seconds to wait before retrying",
            "schema": {"type": "integer"},
        }
    },
}


def error_statuses(method: str, path: str, operation: dict[str, Any]) -> list[int]:
    """The error statuses an operation can answer, from what it takes."""
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation
    statuses = [500]
    if operation.get("security"):
        statuses += [401, 403]
    if any(p.get("in") == "path" for p in parameters):
        statuses.append(404)
    if method in WRITES:
        statuses.append(409)
    if has_body:
        statuses.append(413)
    if has_body or parameters:
        statuses.append(422)
    # An error a route declares without a body of its own (503 on the ops routes) is a problem
    # too; one with its own body (/readyz's 503 is the readiness report) stays as declared.
    declared = {
        int(code)
        for code, response in operation.get("responses", {}).items()
        if code in _DECLARABLE and "content" not in response
    }
    return sorted(set(statuses) | declared)


_DECLARABLE = {str(code) for code in STATUS_TEXT}


def _problem_response(status: int, existing: dict[str, Any] | None) -> dict[str, Any]:
    schema, text = STATUS_TEXT[status]
    description = (existing or {}).get("description") or text
    if description == "Validation Error":  # FastAPI's, for its own 422 shape
        description = text
    content = {MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}
    answer = {**(existing or {}), "description": description, "content": content}
    if status in HEADERS:
        answer["headers"] = {**answer.get("headers", {}), **HEADERS[status]}
    return answer


def describe_errors(document: dict[str, Any]) -> None:
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status in error_statuses(method, path, operation):
                responses[str(status)] = _problem_response(status, responses.get(str(status)))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in DROPPED_SCHEMAS:
        schemas.pop(name, None)
    for model in (FieldProblem, Problem, ValidationProblem):
        schema = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema


def operation_id(route: APIRoute) -> str:
    """operationId = the endpoint function's name (``register_enterprise``)."""
    return route.name


def disambiguate_operations(document: dict[str, Any]) -> None:
    """Two endpoints of one name (in different routers) keep FastAPI's longer unique ids, so
    the document stays valid; ``tests/unit/test_openapi.py`` reports them."""
    operations = [
        (path, method, operation)
        for path, item in document.get("paths", {}).items()
        for method, operation in item.items()
    ]
    counts = Counter(op.get("operationId") for _, _, op in operations)
    for path, method, operation in operations:
        if counts[operation.get("operationId")] > 1:
            slug = re.sub(r"\W", "_", path)
            operation["operationId"] = f"{operation['operationId']}{slug}_{method}"


def bearer_is_jwt(document: dict[str, Any]) -> None:
    schemes = document.get("components", {}).get("securitySchemes", {})
    for scheme in schemes.values():
        if scheme.get("type") == "http" and scheme.get("scheme", "").lower() == "bearer":
            scheme["bearerFormat"] = "JWT"


def servers_of(public_url: str | None) -> list[dict[str, str]]:
    if public_url:
        return [{"url": public_url.rstrip("/") or "/", "description": "this service"}]
    return [{"url": "/", "description": "this service, where this document was read"}]


def install_openapi(app: FastAPI, *, public_url: str | None) -> None:
    """Name operations after their functions (routes included from now on) and replace
    ``app.openapi`` with one that completes FastAPI's document each time FastAPI rebuilds it
    (routes added)."""
    app.router.generate_unique_id_function = operation_id
    plain: Callable[[], dict[str, Any]] = app.openapi
    app.servers = servers_of(public_url)
    built: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = plain()
        if not built or built[0] is not document:
            built[:] = [document]
            disambiguate_operations(document)
            describe_errors(document)
            bearer_is_jwt(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]
