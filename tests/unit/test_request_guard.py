"""The door every service shares (``ikmkit.service.http.RequestGuard``): body caps counted
on the bytes that arrive, the bulk allowance, JSON text that is not valid Unicode; the shared
e-mail rule."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from pydantic_core import PydanticCustomError

from contracts.values import normalize_email
from ikmkit.service.http import BULK_ROUTE, install_error_handlers, install_request_guard

LIMIT = 1000
BULK_LIMIT = 5000


class Body(BaseModel):
    text: str = ""
    items: list[Any] = []


def make_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    install_request_guard(app, max_bytes=LIMIT, bulk_max_bytes=BULK_LIMIT)

    @app.post("/things")
    async def things(body: Body) -> dict[str, int]:
        return {"chars": len(body.text)}

    @app.post("/things/{thing}/bulk", openapi_extra=BULK_ROUTE)
    async def bulk(thing: str, body: Body) -> dict[str, int]:
        return {"items": len(body.items)}

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=make_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        yield c


def json_bytes(text: str) -> bytes:
    return b'{"text": "' + text.encode() + b'"}'


async def test_a_body_under_the_limit_passes(client: httpx.AsyncClient) -> None:
    r = await client.post("/things", json={"text": "x" * 900})
    assert r.status_code == 200 and r.json() == {"chars": 900}


async def test_a_declared_body_over_the_limit_is_413_naming_the_limit(
    client: httpx.AsyncClient,
) -> None:
    r = await client.post("/things", json={"text": "x" * 5000})
    assert r.status_code == 413
    error = r.json()
    assert error["rule"] == "too_large.body"
    assert error["limit_bytes"] == LIMIT
    assert "1000 bytes" in error["detail"]


async def test_a_streamed_body_is_counted_not_trusted(client: httpx.AsyncClient) -> None:
    """No Content-Length (chunked): the guard counts what arrives and stops at the limit."""

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"text": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    r = await client.post("/things", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["limit_bytes"] == LIMIT


async def test_a_bulk_route_has_the_bulk_allowance(client: httpx.AsyncClient) -> None:
    body = {"items": ["x" * 10] * 300}  # ~4.5 kB: over the plain limit, under the bulk one
    assert (await client.post("/things", json=body)).status_code == 413
    r = await client.post("/things/a/bulk", json=body)
    assert r.status_code == 200 and r.json() == {"items": 300}
    r = await client.post("/things/a/bulk", json={"items": ["x" * 10] * 1000})
    assert r.status_code == 413 and r.json()["limit_bytes"] == BULK_LIMIT


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        (b'{"text": "a\\udcffb"}', ["body", "text"]),
        (b'{"items": [1, {"deep": ["ok", "\\uD800"]}]}', ["body", "items", 1, "deep", 1]),
        (b'{"text": "\\ude00\\ud83d"}', ["body", "text"]),  # a pair in the wrong order
        (b'{"\\udcff": 1}', ["body", "\\udcff"]),  # a key: named, printably
        (b'{"text": "\xed\xb3\xbf"}', ["body", "text"]),  # CESU-8 bytes json decodes
    ],
)
async def test_text_that_is_not_unicode_is_422_naming_the_field(
    client: httpx.AsyncClient, raw: bytes, loc: list[Any]
) -> None:
    r = await client.post("/things", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    (error,) = r.json()["errors"]
    assert error["rule"] == "invalid.unicode"
    assert error["loc"] == loc


async def test_a_body_without_content_type_is_checked_too(client: httpx.AsyncClient) -> None:
    """FastAPI parses a body that names no content type as JSON, so the guard does too."""
    r = await client.post("/things", content=b'{"text": "\\udcff"}')
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == ["body", "text"]


async def test_valid_escapes_and_escaped_backslashes_pass(client: httpx.AsyncClient) -> None:
    for raw in (b'{"text": "\\ud83d\\ude00"}', b'{"text": "\\\\udcff"}'):
        r = await client.post("/things", content=raw, headers={"content-type": "application/json"})
        assert r.status_code == 200, r.text


def test_one_email_rule() -> None:
    assert normalize_email(" Sri@Example.ID ") == "sri@example.id"
    assert normalize_email("sri@bücher.de") == "sri@xn--bcher-kva.de"  # IDN domain: ASCII form
    with pytest.raises(PydanticCustomError) as refused:
        normalize_email("pémilik@contoh.id")
    assert refused.value.type == "email_smtputf8"
    for bad in ("no-at-sign", "a@b", "a@@b.id", "a" * 250 + "@b.id"):
        with pytest.raises(PydanticCustomError) as invalid:
            normalize_email(bad)
        assert invalid.value.type == "email_format"


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_refused_body_is_read_to_its_end_before_the_413(declared: bool) -> None:
    """Over a socket, a client writes its whole body before it reads the answer; closing with
    unread bytes resets the connection and the client never sees the 413. So the guard
    reads (and drops) a refused body of a few times the limit before it answers."""
    chunks = [b"x" * 500] * 6  # 3x the limit
    events: list[str] = []

    async def receive() -> dict[str, Any]:
        events.append("read")
        return {"type": "http.request", "body": chunks.pop(), "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        events.append(message["type"])

    headers = [(b"content-length", b"3000")] if declared else []
    scope = {"type": "http", "method": "POST", "path": "/things", "headers": headers}
    guard = make_app().build_middleware_stack()
    await guard(scope, receive, send)  # type: ignore[arg-type]
    assert chunks == [] and events[:6] == ["read"] * 6
    assert events[6:] == ["http.response.start", "http.response.body"]


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """The app as a server runs it: the ASGI lifespan started first, then requests."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    started = asyncio.Event()

    async def send(message: Any) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    await inbox.put({"type": "lifespan.startup"})
    lifespan = asyncio.create_task(app({"type": "lifespan", "state": {}}, inbox.get, send))
    await started.wait()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client
    await inbox.put({"type": "lifespan.shutdown"})
    await lifespan


async def test_the_bulk_routes_are_read_when_the_server_starts_not_by_the_first_request() -> None:
    """Reading them builds the app's OpenAPI document (~0.2 s for the registry), which on the
    first request stalled the event loop for every consumer and request sharing it."""
    app = make_app()
    async with served(app) as client:
        built = app.openapi
        calls: list[int] = []
        app.openapi = lambda: calls.append(1) or built()  # type: ignore[method-assign]
        assert (await client.post("/things", json={"text": "x"})).status_code == 200
        bulk = await client.post("/things/a/bulk", json={"items": ["x" * 10] * 300})
        assert bulk.status_code == 200 and bulk.json() == {"items": 300}
        too_large = await client.post("/things", json={"items": ["x" * 10] * 300})
        assert too_large.status_code == 413
        assert calls == []
