"""Every error a service answers is an RFC 9457 problem (``application/problem+json``):
routing 404/405, 401, 403, 404, 409, 413, 422 (every failing field at once, never the
input) and 500 (no internals)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, Field

from ikmkit.auth import CurrentCaller
from ikmkit.service.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
    Violations,
)
from ikmkit.service.http import install_error_handlers, install_request_guard
from ikmkit.service.problems import PROBLEM_BASE
from ikmkit.store import TransactionConflict
from tests.support.problems import problem_of

SECRET_NIK = "3471010101900001"


class Owner(BaseModel):
    name: str = Field(max_length=10)


class Registration(BaseModel):
    owner_nik: str = Field(pattern=r"^\d{16}$")
    workforce: int = Field(ge=0, le=1000)
    owners: list[Owner] = []


def _nik_rule(nik: str) -> None:
    raise InvalidInput("NIK birth date is not a date", field="owner_nik", rule="nik_birth_date")


def _kbli_rule(kbli: str) -> None:
    raise InvalidInput("KBLI is not manufacturing", field="kbli", rule="kbli_not_manufacturing")


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    install_request_guard(app, max_bytes=2000, bulk_max_bytes=2000)

    @app.post("/registrations")
    async def register(body: Registration, dry_run: bool = False) -> dict[str, str]:
        return {"ok": "yes"}

    @app.post("/rules")
    async def rules() -> None:
        found = Violations()
        found.check(_nik_rule, SECRET_NIK)
        found.check(_kbli_rule, "47111")
        found.raise_all()

    @app.get("/refusals/{kind}")
    async def refusals(kind: str) -> None:
        raise {
            "401": Unauthorized("token expired", rule="expired"),
            "403": Forbidden("not your province", field="province", rule="other_province"),
            "404": NotFound("no enterprise 123", rule="unknown"),
            "409": Conflict("already enrolled", field="nib", rule="duplicate_enrollment"),
        }[kind]

    @app.post("/busy")
    async def busy() -> None:
        raise TransactionConflict("enterprises", "x")

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: /srv/db password=hunter2")

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_routing_404_and_405_are_problems(client: httpx.AsyncClient) -> None:
    missing = problem_of(await client.get("/nope"), 404, "/nope")
    assert missing["type"] == f"{PROBLEM_BASE}http/not_found"
    assert missing["title"] == "Not Found"
    wrong = await client.delete("/registrations")
    assert problem_of(wrong, 405, "/registrations")["rule"] == "http.method_not_allowed"
    assert wrong.headers["allow"] == "POST"


async def test_a_422_lists_every_broken_field_with_pointers_and_never_the_input(
    client: httpx.AsyncClient,
) -> None:
    body = {"owner_nik": f"x{SECRET_NIK}", "workforce": 5000, "owners": [{"name": "Budi" * 5}]}
    r = await client.post("/registrations?dry_run=perhaps", json=body)
    problem = problem_of(r, 422, "/registrations")
    assert problem["type"] == f"{PROBLEM_BASE}invalid" and problem["rule"] == "invalid"
    found = {e.get("pointer") or e["parameter"]: e for e in problem["errors"]}
    assert set(found) == {"#/owner_nik", "#/workforce", "#/owners/0/name", "dry_run"}
    assert found["#/owners/0/name"]["field"] == "owners[0].name"
    assert found["#/owners/0/name"]["loc"] == ["body", "owners", 0, "name"]
    assert found["#/workforce"]["rule"] == "less_than_equal"
    assert found["#/workforce"]["type"] == f"{PROBLEM_BASE}schema/less_than_equal"
    assert found["#/workforce"]["context"] == {"le": 1000}
    assert found["dry_run"]["in"] == "query" and found["dry_run"]["rule"] == "bool_parsing"
    assert all(isinstance(e["detail"], str) for e in problem["errors"])
    assert SECRET_NIK not in r.text and "Budi" not in r.text and "perhaps" not in r.text
    assert not any("input" in e or "url" in e for e in problem["errors"])


async def test_domain_violations_are_one_422_naming_each_rule(client: httpx.AsyncClient) -> None:
    problem = problem_of(await client.post("/rules"), 422, "/rules")
    assert [(e["pointer"], e["field"], e["rule"]) for e in problem["errors"]] == [
        ("#/owner_nik", "owner_nik", "invalid.nik_birth_date"),
        ("#/kbli", "kbli", "invalid.kbli_not_manufacturing"),
    ]
    assert problem["errors"][0]["type"] == f"{PROBLEM_BASE}invalid/nik_birth_date"
    assert problem["errors"][0]["loc"] == ["body", "owner_nik"]
    assert "owner_nik" in problem["detail"] and "kbli" in problem["detail"]


@pytest.mark.parametrize(
    ("status", "rule", "pointer"),
    [
        (401, "unauthorized.expired", None),
        (403, "forbidden.other_province", "#/province"),
        (404, "not_found.unknown", None),
        (409, "conflict.duplicate_enrollment", "#/nib"),
    ],
)
async def test_refusals_are_problems_naming_their_rule(
    client: httpx.AsyncClient, status: int, rule: str, pointer: str | None
) -> None:
    r = await client.get(f"/refusals/{status}")
    problem = problem_of(r, status, f"/refusals/{status}")
    assert problem["rule"] == rule
    assert [e["pointer"] for e in problem.get("errors", [])] == ([pointer] if pointer else [])
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"


async def test_a_concurrent_conflict_keeps_retry_after(client: httpx.AsyncClient) -> None:
    r = await client.post("/busy")
    assert problem_of(r, 409, "/busy")["rule"] == "conflict.concurrent"
    assert r.headers["retry-after"] == "1"


async def test_a_failure_is_a_500_problem_without_internals(client: httpx.AsyncClient) -> None:
    r = await client.get("/boom")
    assert problem_of(r, 500, "/boom")["rule"] == "server.internal"
    assert "hunter2" not in r.text and "RuntimeError" not in r.text and "Traceback" not in r.text


async def test_the_door_answers_problems_too(client: httpx.AsyncClient) -> None:
    big = await client.post("/registrations", json={"owner_nik": "1" * 5000})
    assert problem_of(big, 413, "/registrations")["limit_bytes"] == 2000
    raw = b'{"owner_nik": "\\udcff", "workforce": 1}'
    bad = await client.post("/registrations", content=raw)
    (error,) = problem_of(bad, 422, "/registrations")["errors"]
    assert (error["pointer"], error["rule"]) == ("#/owner_nik", "invalid.unicode")


async def test_a_secured_endpoint_without_a_token_is_a_401_problem() -> None:
    app = make_app()

    @app.get("/mine")
    async def mine(caller: CurrentCaller) -> dict[str, str]:
        return {"who": caller.subject}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get("/mine")
    assert problem_of(r, 401, "/mine")["rule"].startswith("unauthorized")
    assert r.headers["www-authenticate"] == "Bearer"


def test_a_rule_message_quoting_the_value_sent_does_not_repeat_it() -> None:
    from ikmkit.service.problems import from_pydantic

    error = {
        "type": "email_format",
        "loc": ("body", "owner_email"),
        "msg": "not a valid e-mail address: budi.santoso@@contoh.id has two @-signs",
        "input": "budi.santoso@@contoh.id",
        "ctx": {"reason": "budi.santoso@@contoh.id has two @-signs", "max_length": 254},
    }
    entry = from_pydantic(error, "invalid.email_format").as_json()
    assert "budi" not in str(entry)
    assert entry["context"] == {"max_length": 254}


def test_a_domain_field_name_is_kept_and_read_as_a_pointer() -> None:
    from ikmkit.service.problems import FieldError

    budget = FieldError.of_field("province_budgets.31", "invalid.min_0", "negative").as_json()
    assert (budget["pointer"], budget["field"]) == ("#/province_budgets/31", "province_budgets.31")
    line = FieldError.of_field("lines[0].price_rupiah", "invalid.positive", "zero").as_json()
    assert (line["pointer"], line["loc"]) == (
        "#/lines/0/price_rupiah",
        ["body", "lines[0].price_rupiah"],
    )
    odd = FieldError(["body", "a/b", "~x"], "missing", "required").as_json()
    assert odd["pointer"] == "#/a~1b/~0x"
    whole = FieldError.of_field(None, "invalid.not_eligible", "not eligible").as_json()
    assert (whole["pointer"], whole["field"]) == ("#", None)
    spaced = FieldError(["body", "a b"], "missing", "required").as_json()
    assert spaced["pointer"] == "#/a%20b"
