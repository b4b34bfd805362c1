"""Where a command sends its requests, with which token, and how a refusal reads."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import jwt
import pytest
import typer

from ikm_cli import state
from ikm_cli.client import bearer_token, error_details, service_url

URL_ENV = ("IKM_URL", "IKM_REGISTRY_URL", "IKM_TRAINING_URL", "IKM_TOKEN", "IKM_JWT_SECRET")


@pytest.fixture
def dev_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in URL_ENV:
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "dev.json"
    monkeypatch.setattr(state, "STATE_FILE", path)
    return path


def test_url_from_option_then_service_variable_then_ikm_url_then_dev_stack(
    dev_stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(typer.BadParameter, match="no IKM_REGISTRY_URL, no IKM_URL"):
        service_url("registry")
    dev_stack.write_text(json.dumps({"services": {"registry": "http://dev:1/"}}))
    assert service_url("registry") == "http://dev:1"
    monkeypatch.setenv("IKM_URL", "http://any:2")
    assert service_url("registry") == "http://any:2"
    monkeypatch.setenv("IKM_REGISTRY_URL", "http://registry:3/")
    assert service_url("registry") == "http://registry:3"
    assert service_url("training") == "http://any:2"  # another service's variable is not read
    assert service_url("registry", "http://given:4") == "http://given:4"


def test_without_a_service_name_the_dev_stack_is_not_guessed(dev_stack: Path) -> None:
    dev_stack.write_text(json.dumps({"services": {"registry": "http://dev:1"}}))
    with pytest.raises(typer.BadParameter, match="no --service NAME"):
        service_url(None)


def test_token_from_option_then_ikm_token_then_a_dev_ministry_token(
    dev_stack: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    minted = jwt.decode(bearer_token(), options={"verify_signature": False})
    assert (minted["role"], minted["sub"]) == ("ministry", "ikm-cli")
    monkeypatch.setenv("IKM_TOKEN", "from-env")
    assert bearer_token() == "from-env"
    assert bearer_token("given") == "given"


def response(status: int, body: object) -> httpx.Response:
    return httpx.Response(status, json=body, request=httpx.Request("GET", "http://s/x"))


def test_a_refusal_reads_as_status_reason_and_every_error_detail() -> None:
    forbidden = response(
        403, {"detail": [{"loc": [], "msg": "not your province", "type": "forbidden.province"}]}
    )
    assert error_details(forbidden) == "403 Forbidden: [forbidden.province]: not your province"
    invalid = response(
        422,
        {
            "detail": [
                {"loc": ["body", "rows", 0], "msg": "too long", "type": "too_long"},
                {"loc": ["query", "limit"], "msg": "must be > 0", "type": "greater_than"},
            ]
        },
    )
    assert error_details(invalid) == (
        "422 Unprocessable Entity: rows.0 [too_long]: too long; "
        "query.limit [greater_than]: must be > 0"
    )
    assert error_details(response(404, {"detail": "Not Found"})) == "404 Not Found: Not Found"
    plain = httpx.Response(502, text="bad gateway", request=httpx.Request("GET", "http://s/"))
    assert error_details(plain) == "502 Bad Gateway: bad gateway"


def test_a_problem_reads_as_its_rule_and_every_field_error() -> None:
    """The services' RFC 9457 problems: the rule and detail, or each field error of a 422."""
    forbidden = response(
        403,
        {
            "type": "https://ikm.kemenperin.go.id/problems/forbidden/role",
            "title": "Forbidden",
            "status": 403,
            "detail": "role 'enterprise' may not import enterprises",
            "instance": "/enterprises/import",
            "rule": "forbidden.role",
        },
    )
    assert error_details(forbidden) == (
        "403 Forbidden: [forbidden.role]: role 'enterprise' may not import enterprises"
    )
    invalid = response(
        422,
        {
            "type": "https://ikm.kemenperin.go.id/problems/invalid",
            "title": "Invalid input",
            "status": 422,
            "detail": "2 fields break a rule",
            "instance": "/enterprises",
            "rule": "invalid",
            "errors": [
                {"pointer": "#/owner_nik", "field": "owner_nik", "loc": ["body", "owner_nik"],
                 "rule": "invalid.nik_length", "detail": "NIK has 16 digits"},
                {"parameter": "limit", "in": "query", "field": "limit", "loc": ["query", "limit"],
                 "rule": "greater_than", "detail": "must be > 0"},
            ],
        },
    )  # fmt: skip
    assert error_details(invalid) == (
        "422 Unprocessable Entity: owner_nik [invalid.nik_length]: NIK has 16 digits; "
        "query.limit [greater_than]: must be > 0"
    )
    routing = response(404, {"status": 404, "detail": "Not Found", "rule": "http.not_found"})
    assert error_details(routing) == "404 Not Found: [http.not_found]: Not Found"
