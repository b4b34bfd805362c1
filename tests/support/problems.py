"""Reading RFC 9457 problem responses."""

from __future__ import annotations

from typing import Any

import httpx

from ikmkit.service.openapi import FieldProblem, Problem, ValidationProblem
from ikmkit.service.problems import MEDIA_TYPE, PROBLEM_BASE, type_uri


def problem_of(response: httpx.Response, status: int, path: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    body: dict[str, Any] = response.json()
    assert body["type"].startswith(PROBLEM_BASE) and body["type"] == type_uri(body["rule"])
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert (body["status"], body["instance"]) == (status, path)
    (ValidationProblem if status == 422 else Problem).model_validate(body)  # the declared schema
    assert set(body) <= set(Problem.model_fields), "a member the OpenAPI schema does not declare"
    declared = {f.alias or name for name, f in FieldProblem.model_fields.items()}
    assert all(set(e) <= declared for e in body.get("errors", []))
    return body


def rules_of(response: httpx.Response) -> list[tuple[str, str]]:
    """A 422's errors as (field, rule), in the answer's order."""
    assert response.status_code == 422, response.text[:300]
    return [(e["field"], e["rule"]) for e in response.json()["errors"]]
