"""``LeanRoute`` on small apps: the same answers as ``APIRoute``, and FastAPI's handler
wherever the lean one would not answer the same way (telemetry on, overrides, other shapes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from opentelemetry.sdk.trace import TracerProvider
from pydantic import BaseModel, Field, field_validator
from starlette.background import BackgroundTask

from ikmkit.service import lean_route
from ikmkit.service.errors import Conflict, Forbidden, InvalidInput, InvalidInputs
from ikmkit.service.http import install_error_handlers
from ikmkit.service.lean_route import LeanRoute, _plan
from ikmkit.service.runtime import NO_FASTAPI_TELEMETRY


class Body(BaseModel):
    name: str = Field(min_length=2)
    size: int = 1
    note: str | None = None


class Answer(BaseModel):
    name: str
    size: int
    note: str | None = None


async def caller(request: Request) -> str:
    if request.headers.get("authorization") != "ok":
        raise HTTPException(401, "who?")
    return "someone"


Caller = Annotated[str, Depends(caller)]


def _app(route_class: type[APIRoute], **app_args: Any) -> FastAPI:
    router = APIRouter(route_class=route_class)

    @router.post("/things", status_code=201, response_model_exclude_none=True)
    async def add(body: Body, who: Caller) -> Answer:
        if body.name == "boom":
            raise HTTPException(409, f"{who}: taken")
        return Answer(name=body.name, size=body.size)

    @router.post("/wrong")
    async def wrong(body: Body, who: Caller) -> Answer:
        return {"name": body.name}  # type: ignore[return-value]  # invalid on purpose

    app = FastAPI(**app_args)
    app.include_router(router)
    return app


_OK = {"authorization": "ok", "content-type": "application/json"}
_CASES: list[tuple[str, dict[str, str], bytes]] = [
    ("/things", _OK, b'{"name": "ab", "size": 3}'),
    ("/things", _OK, b'{"name": "boom"}'),
    ("/things", _OK, b'{"name": "a"}'),
    ("/things", _OK, b'{"name": '),
    ("/things", _OK, b""),
    ("/things", _OK, b"null"),
    ("/things", {"content-type": "application/json"}, b'{"name": "ab"}'),
    ("/things", {"content-type": "application/json"}, b'{"name": "a"}'),
    ("/things", {"authorization": "ok"}, b'{"name": "ab"}'),
    ("/things", {**_OK, "content-type": "application/merge-patch+json"}, b'{"name": "ab"}'),
    ("/wrong", _OK, b'{"name": "ab"}'),
    ("/things", {**_OK, "content-type": "application/json; charset=utf-8"}, b'{"name": "ab"}'),
    ("/things", {**_OK, "content-type": "application/JSON"}, b'{"name": "ab"}'),
    ("/things", {**_OK, "content-type": "application/json "}, b'{"name": "ab"}'),
    ("/things", {**_OK, "content-type": "text/plain"}, b'{"name": "ab"}'),
    ("/things", {**_OK, "content-type": ""}, b'{"name": "ab"}'),
    ("/things", _OK, b'[{"name": "ab"}]'),
    ("/things", _OK, b'"ab"'),
    ("/things", _OK, b"  "),
    ("/things", _OK, b'{"name": "ab", "size": 1e400}'),
    ("/things", _OK, b'{"name": "ab", "size": NaN}'),
    ("/things", _OK, b'{"name": "ab", "size": 100000000000000000000000000000}'),
    ("/things", _OK, b'{"name": "ab", "size": ' + b"9" * 5000 + b"}"),  # past int's digit limit
    ("/things", _OK, b'{"name": "a", "name": "ab"}'),
    ("/things", _OK, b'{"name": "ab", "extra": [1, {"x": null}]}'),
    ("/things", _OK, b'{"name": "\xff\xfe"}'),
    ("/things", _OK, b'\xef\xbb\xbf{"name": "ab"}'),
    ("/things", _OK, '{"name": "ab"}'.encode("utf-16")),
    ("/things", _OK, b'{"name": "a\\ud800"}'),
    ("/things", _OK, b'{"name": "ab", "note": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
    ("/things", {"content-type": "application/json"}, b"[" * 100_000 + b"]" * 100_000),
]


@pytest.fixture
def lean_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    answer = lean_route._Plan._answer

    async def counted(plan: Any, request: Request, body: Any, *values: Any) -> Any:
        calls.append(request.url.path)
        return await answer(plan, request, body, *values)

    monkeypatch.setattr(lean_route._Plan, "_answer", counted)
    return calls


def _post(app: FastAPI, path: str, headers: dict[str, str], body: bytes) -> httpx.Response:
    """One request through the ASGI app, as a server would hand it over (no lifespan needed)."""

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, headers=headers, content=body)

    return asyncio.run(send())


@pytest.mark.parametrize("path, headers, body", _CASES)
def test_answers_as_fastapi(
    path: str, headers: dict[str, str], body: bytes, lean_calls: list[str]
) -> None:
    answers = []
    for route_class in (APIRoute, LeanRoute):
        app = _app(route_class, telemetry=NO_FASTAPI_TELEMETRY)
        answers.append(_post(app, path, headers, body))
    old, new = answers
    assert (new.status_code, new.content) == (old.status_code, old.content)
    assert new.headers.items() == old.headers.items()


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "GET", "PUT", "DELETE"])
def test_other_methods_answer_as_fastapi(method: str) -> None:
    answers = []
    for route_class in (APIRoute, LeanRoute):
        app = _app(route_class, telemetry=NO_FASTAPI_TELEMETRY)

        async def send(app: FastAPI = app) -> httpx.Response:
            transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(method, "/things", headers=_OK, content=b"{}")

        answers.append(asyncio.run(send()))
    old, new = answers
    assert (new.status_code, new.content) == (old.status_code, old.content)
    assert new.headers.items() == old.headers.items()


def _raw(app: FastAPI, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the app sends for a POST /things whose body arrives as ``messages``."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/things", "raw_path": b"/things", "root_path": "",
        "query_string": b"", "headers": [(b"authorization", b"ok"),
        (b"content-type", b"application/json")], "server": ("test", 80),
    }  # fmt: skip
    pending = list(messages)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def run() -> None:
        try:
            await app(scope, receive, send)
        except Exception as exc:  # what a server would log, as a message to compare
            sent.append({"raised": type(exc).__name__})

    asyncio.run(run())
    return sent


@pytest.mark.parametrize(
    "messages",
    [
        [{"type": "http.disconnect"}],
        [{"type": "http.request", "body": b'{"name": ', "more_body": True}],
        [{"type": "http.request", "body": b'{"name": "ab"}', "more_body": False}],
    ],
)
def test_a_client_gone_before_its_body_arrived_is_answered_as_fastapi(
    messages: list[dict[str, Any]],
) -> None:
    old, new = (
        _raw(_app(route_class, telemetry=NO_FASTAPI_TELEMETRY), messages)
        for route_class in (APIRoute, LeanRoute)
    )
    assert new == old


@pytest.mark.parametrize(
    "body", [b'{"name": "ab"}', b'{"name": "ab", "note": "' + b"x" * 64 + b'"}']
)
def test_fastapis_own_body_limit_answers_as_fastapi(body: bytes) -> None:
    answers = []
    for route_class in (APIRoute, LeanRoute):
        app = _app(route_class, telemetry=NO_FASTAPI_TELEMETRY, max_body_size=32)
        answers.append(_post(app, "/things", _OK, body))
    old, new = answers
    assert (new.status_code, new.content) == (old.status_code, old.content)
    assert new.headers.items() == old.headers.items()


def test_valid_writes_take_the_lean_path(lean_calls: list[str]) -> None:
    app = _app(LeanRoute, telemetry=NO_FASTAPI_TELEMETRY)
    assert _post(app, "/things", _OK, b'{"name": "ab"}').status_code == 201
    assert _post(app, "/things", _OK, b'{"name": "a"}').status_code == 422
    assert lean_calls == ["/things"]


def test_an_apps_own_dependencies_run_on_the_lean_path_too(lean_calls: list[str]) -> None:
    """A dependency of the whole app (``FastAPI(dependencies=[...])``, as every service's
    query check) sent every write to FastAPI's handler; it runs, for its effect, on the lean
    path as FastAPI runs it: before the body, its refusal answered as FastAPI answers it."""
    ran: list[str] = []

    async def checked(request: Request) -> None:
        ran.append(request.url.path)
        if request.url.query:
            raise HTTPException(422, "no query here")

    for route_class in (APIRoute, LeanRoute):
        app = _app(route_class, telemetry=NO_FASTAPI_TELEMETRY, dependencies=[Depends(checked)])
        assert _post(app, "/things", _OK, b'{"name": "ab"}').status_code == 201
        refused = _post(app, "/things?x=1", _OK, b'{"name": "a"}')
        assert (refused.status_code, refused.json()) == (422, {"detail": "no query here"})
    assert ran == ["/things"] * 4
    assert lean_calls == ["/things"]


def test_fastapi_telemetry_on_gets_fastapis_handler(lean_calls: list[str]) -> None:
    app = _app(LeanRoute, telemetry={"tracer_provider": TracerProvider()})  # FastAPI's own on
    assert _post(app, "/things", _OK, b'{"name": "ab"}').status_code == 201
    assert lean_calls == []


def test_dependency_overrides_get_fastapis_handler(lean_calls: list[str]) -> None:
    app = _app(LeanRoute, telemetry=NO_FASTAPI_TELEMETRY)

    async def someone_else() -> str:
        return "else"

    app.dependency_overrides[caller] = someone_else
    answer = _post(app, "/things", _OK, b'{"name": "boom"}')
    assert answer.json() == {"detail": "else: taken"}
    assert lean_calls == []


async def _session() -> AsyncIterator[str]:
    yield "session"


def test_other_shapes_are_not_lean() -> None:
    router = APIRouter(route_class=LeanRoute)

    @router.post("/a/{key}")
    async def with_path(key: str, body: Body) -> Answer: ...

    @router.post("/b")
    async def with_query(body: Body, page: int = 1) -> Answer: ...

    @router.post("/c")
    async def with_yield(body: Body, s: Annotated[str, Depends(_session)]) -> Answer: ...

    @router.post("/d")
    async def no_body(who: Caller) -> Answer: ...

    @router.post("/e")
    async def with_request(body: Body, request: Request) -> Answer: ...

    @router.post("/f")
    async def lean(body: Body, who: Caller) -> Answer: ...

    plans = {route.path: _plan(route) for route in router.routes if isinstance(route, APIRoute)}
    assert [path for path, plan in plans.items() if plan is not None] == ["/f"]


def _service_app(route_class: type[APIRoute], ran: list[str]) -> FastAPI:
    """The service's own error answers (problem details) and a write that schedules work."""
    router = APIRouter(route_class=route_class)

    @router.post("/checked", status_code=201)
    async def checked(body: Body, who: Caller) -> Answer:
        if body.name == "taken":
            raise Conflict("name taken", rule="duplicate")
        if body.name == "deny":
            raise Forbidden("not yours")
        if body.size < 0 or body.note == "bad":
            raise InvalidInputs(
                [
                    InvalidInput("size must not be negative", field="size", rule="size_min"),
                    InvalidInput("note is bad", field="note", rule="note_bad"),
                ]
            )
        return Answer(name=body.name, size=body.size)

    @router.post("/later", status_code=202)
    async def later(body: Body, who: Caller) -> Answer:
        task = BackgroundTask(ran.append, body.name)
        return JSONResponse({"name": body.name}, status_code=202, background=task)  # type: ignore[return-value]

    app = FastAPI(telemetry=NO_FASTAPI_TELEMETRY)
    install_error_handlers(app)
    app.include_router(router)
    return app


@pytest.mark.parametrize(
    "path, headers, body",
    [
        ("/checked", _OK, b'{"name": "ab"}'),
        ("/checked", _OK, b'{"name": "taken"}'),
        ("/checked", _OK, b'{"name": "deny"}'),
        ("/checked", _OK, b'{"name": "ab", "size": -1, "note": "bad"}'),
        ("/checked", _OK, b'{"name": "a", "size": "x"}'),
        ("/checked", _OK, b'{"name": '),
        ("/checked", _OK, b"[" * 100_000 + b"]" * 100_000),
        ("/checked", {"content-type": "application/json"}, b'{"name": "ab"}'),
        ("/later", _OK, b'{"name": "ab"}'),
        ("/later", _OK, b'{"name": "a"}'),
    ],
)
def test_problem_details_and_background_tasks_as_fastapi(
    path: str, headers: dict[str, str], body: bytes
) -> None:
    answers, ran = [], []
    for route_class in (APIRoute, LeanRoute):
        done: list[str] = []
        answers.append(_post(_service_app(route_class, done), path, headers, body))
        ran.append(done)
    old, new = answers
    assert (new.status_code, new.content) == (old.status_code, old.content)
    assert new.headers.items() == old.headers.items()
    assert ran[1] == ran[0] == (["ab"] if new.status_code == 202 else [])


_checked: list[str] = []


class Counted(BaseModel):
    """A body that counts how often it is validated."""

    name: str = Field(min_length=2)

    @field_validator("name", mode="before")
    @classmethod
    def _count(cls, value: Any) -> Any:
        _checked.append(str(value))
        return value


@pytest.mark.parametrize(
    "headers, body",
    [
        ({"content-type": "application/json"}, b'{"name": "ab"}'),  # no token: 401 first
        ({"content-type": "application/json", "authorization": "no"}, b'{"name": "a"}'),
        (_OK, b'{"name": "a"}'),  # invalid: validated once, as FastAPI does
        (_OK, b'{"name": "ab"}'),
    ],
)
def test_a_body_is_validated_when_and_as_often_as_fastapi_validates_it(
    headers: dict[str, str], body: bytes
) -> None:
    """An unauthenticated client must not buy a (bulk) body's validation with its request,
    and an invalid body is not validated twice."""
    counts, answers = [], []
    for route_class in (APIRoute, LeanRoute):
        router = APIRouter(route_class=route_class)

        @router.post("/counted", status_code=201)
        async def counted(body: Counted, who: Caller) -> Answer:
            return Answer(name=body.name, size=1)

        app = FastAPI(telemetry=NO_FASTAPI_TELEMETRY)
        app.include_router(router)
        _checked.clear()
        answers.append(_post(app, "/counted", headers, body))
        counts.append(len(_checked))
    old, new = answers
    assert (new.status_code, new.content) == (old.status_code, old.content)
    assert counts[1] == counts[0]


@pytest.mark.parametrize(
    "path, body", [("/things", b'{"name": "a"}'), ("/things", b"[]"), ("/wrong", b'{"name": "ab"}')]
)
def test_validation_errors_raised_are_fastapis(path: str, body: bytes) -> None:
    """The errors, body and endpoint (file, line, route) a validation error carries to the
    handlers and the log."""
    raised = []
    for route_class in (APIRoute, LeanRoute):
        app = _app(route_class, telemetry=NO_FASTAPI_TELEMETRY)
        seen: list[Any] = []

        async def record(request: Request, exc: Exception, seen: list[Any] = seen) -> Any:
            seen.append((type(exc), str(exc), getattr(exc, "body", None)))
            return JSONResponse({}, status_code=499)

        app.add_exception_handler(RequestValidationError, record)
        app.add_exception_handler(ResponseValidationError, record)
        assert _post(app, path, _OK, body).status_code == 499
        raised.append(seen)
    assert raised[1] == raised[0] and len(raised[0]) == 1
