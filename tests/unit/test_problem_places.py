"""Where a problem says a field is (session 22 review): a domain rule broken by a query or a
path parameter names that parameter (``parameter``/``in``), not a ``#/pointer`` into a body
the request does not have; and hiding the value sent never rewrites the rule's own words
(``Input should be 'csv' or 'xlsx'`` stays so when ``xls`` was sent)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from ikmkit.service.errors import Forbidden, InvalidInput, Violations
from ikmkit.service.http import install_error_handlers
from tests.support.problems import problem_of


class Body(BaseModel):
    name: str


def _province(province: str) -> None:
    raise InvalidInput("regency 3273 is not in province 34", field="province", rule="regency")


def _name(name: str) -> None:
    raise InvalidInput("name is reserved", field="name", rule="reserved")


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/figures")
    async def figures(province: str | None = None) -> None:
        raise Forbidden("a regional officer sees only 34", field="province", rule="own_province")

    @app.get("/enterprises/{nib}")
    async def enterprise(nib: str) -> None:
        raise InvalidInput("NIB must be 13 digits", field="nib", rule="nib_format")

    @app.post("/things")
    async def things(body: Body, province: str) -> None:
        found = Violations()
        found.check(_province, province)
        found.check(_name, body.name)
        found.raise_all()

    @app.get("/export")
    async def export(format: Literal["csv", "xlsx"] = "csv") -> None:
        return None

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


async def test_a_refused_query_parameter_is_named_as_one(client: httpx.AsyncClient) -> None:
    body = problem_of(await client.get("/figures?province=32"), 403, "/figures")
    [error] = body["errors"]
    assert (error["parameter"], error["in"], error["field"]) == ("province", "query", "province")
    assert error["loc"] == ["query", "province"] and "pointer" not in error


async def test_a_refused_path_parameter_is_named_as_one(client: httpx.AsyncClient) -> None:
    body = problem_of(await client.get("/enterprises/123"), 422, "/enterprises/123")
    [error] = body["errors"]
    assert (error["parameter"], error["in"], error["rule"]) == ("nib", "path", "invalid.nib_format")


async def test_query_and_body_fields_of_one_422_keep_their_places(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/things?province=34", json={"name": "ministry"})
    places = [(e["loc"], e.get("pointer")) for e in problem_of(r, 422, "/things")["errors"]]
    assert places == [(["query", "province"], None), (["body", "name"], "#/name")]


async def test_hiding_the_value_sent_keeps_the_rules_words(client: httpx.AsyncClient) -> None:
    body = problem_of(await client.get("/export?format=xls"), 422, "/export")
    [error] = body["errors"]
    assert error["detail"] == "Input should be 'csv' or 'xlsx'"
    whole = problem_of(await client.get("/export?format=pdf"), 422, "/export")
    assert "pdf" not in str(whole)
