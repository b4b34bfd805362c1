"""HTTP plumbing: one error format for every service, and the request guard.

Every error is an RFC 9457 problem (``ikmkit.service.problems``), whatever raised it: a
domain rule, pydantic, the store, the router (404, 405), the door (413) or a bug (500).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contracts import values
from ikmkit.service import limits, query_guard
from ikmkit.service.body_rules import rules_beside_schema
from ikmkit.service.errors import AppError, InvalidInputs
from ikmkit.service.problems import (
    MEDIA_TYPE,
    FieldError,
    from_pydantic,
    http_rule,
    problem,
    validation_problem,
)
from ikmkit.store import DuplicateKey, TransactionConflict, UnstorableValue, VersionConflict
from ikmkit.store.keyset import InvalidCursor


class ProblemResponse(JSONResponse):
    media_type = MEDIA_TYPE


def _answer(body: dict[str, Any], headers: dict[str, str] | None = None) -> ProblemResponse:
    return ProblemResponse(body, status_code=body["status"], headers=headers)


def _rule_of(exc: AppError) -> str:
    return f"{exc.error_type}.{exc.rule}" if exc.rule else exc.error_type


def _field_error(exc: AppError, request: Request) -> FieldError:
    where = _parameter_place(exc.field, request)
    if where is None:
        return FieldError.of_field(exc.field, _rule_of(exc), exc.message)
    return FieldError([where, str(exc.field)], _rule_of(exc), exc.message)


def _parameter_place(field: str | None, request: Request) -> str | None:
    """``path``, ``query`` or ``header`` when a domain rule names a parameter the request has
    (a query's ``province``, a path's ``nib``, ``Idempotency-Key``): a ``#/pointer`` would
    point into a body it has not."""
    if not field:
        return None
    name = field.partition(".")[0].partition("[")[0]
    if name in request.path_params:
        return "path"
    if name in request.query_params:
        return "query"
    # A header's name has a hyphen (``Idempotency-Key``); a body field's never does.
    return "header" if "-" in name and name in request.headers else None


def _app_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    path = request.url.path
    if exc.status_code == 422:
        every = exc.violations if isinstance(exc, InvalidInputs) else [exc]
        errors = [_field_error(e, request) for e in every]
        return _answer(validation_problem(errors, instance=path))
    errors = [_field_error(exc, request)] if exc.field else []
    body = problem(exc.status_code, _rule_of(exc), exc.message, instance=path, errors=errors)
    return _answer(body, {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None)


def _version_conflict(request: Request, exc: Exception) -> Response:
    errors = [FieldError(["body", "version"], "conflict.version", str(exc))]
    body = problem(409, "conflict.version", str(exc), instance=request.url.path, errors=errors)
    return _answer(body)


def _transaction_conflict(request: Request, exc: Exception) -> Response:
    message = "the record was changed by a concurrent request; retry"
    body = problem(409, "conflict.concurrent", message, instance=request.url.path)
    return _answer(body, {"Retry-After": "1"})


def _duplicate(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DuplicateKey)
    message = f"already exists: {exc.collection} {exc.existing_id}"
    errors = [FieldError(["body", *exc.fields], "conflict.duplicate", message)]
    body = problem(409, "conflict.duplicate", message, instance=request.url.path, errors=errors)
    return _answer(body)


def _bad_cursor(request: Request, exc: Exception) -> Response:
    errors = [FieldError(["query", "cursor"], "invalid.cursor", str(exc))]
    return _answer(validation_problem(errors, instance=request.url.path))


def _unstorable(request: Request, exc: Exception) -> Response:
    # The door (RequestGuard, field bounds) stops these first; this is the net under it.
    errors = [FieldError(["body"], "invalid.unstorable", str(exc))]
    return _answer(validation_problem(errors, instance=request.url.path))


_OWN_RULES = values.RULES | limits.RULES | query_guard.RULES
"""Pydantic error types that are the platform's rules, named ``invalid.<rule>``."""


def _invalid_request(request: Request, exc: Exception) -> Response:
    """Pydantic's 422 as a problem listing every error, a shared value type's rule named as
    the domain names its rules, then the domain's rules the body breaks besides (its model's
    ``rules_broken``), and never the input."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        from_pydantic(e, f"invalid.{e['type']}" if e.get("type") in _OWN_RULES else e["type"])
        for e in exc.errors()
    ]
    body_errors = [{**e, "loc": e["loc"][1:]} for e in exc.errors() if e["loc"][:1] == ("body",)]
    model = _body_model(request)
    if model is not None:
        found = rules_beside_schema(model, exc.body, body_errors)
        errors += [_field_error(v, request) for v in found]
    return _answer(validation_problem(errors, instance=request.url.path))


def _body_model(request: Request) -> type[BaseModel] | None:
    """The route's body model, when its body is one (not fields embedded in a generated one)."""
    field = getattr(request.scope.get("route"), "body_field", None)
    model = field.field_info.annotation if field is not None else None
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _http_error(request: Request, exc: Exception) -> Response:
    """The router's 404 and 405 (and any ``HTTPException``), keeping its headers (``Allow``)."""
    assert isinstance(exc, HTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else "refused"
    body = problem(exc.status_code, http_rule(exc.status_code), detail, instance=request.url.path)
    return _answer(body, dict(exc.headers or {}))


def _internal_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the log (ServerErrorMiddleware re-raises); the client learns only
    # that it was not its fault.
    message = "the service failed to answer; the error is logged"
    return _answer(problem(500, "server.internal", message, instance=request.url.path))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(VersionConflict, _version_conflict)
    app.add_exception_handler(DuplicateKey, _duplicate)
    app.add_exception_handler(TransactionConflict, _transaction_conflict)
    app.add_exception_handler(InvalidCursor, _bad_cursor)
    app.add_exception_handler(UnstorableValue, _unstorable)
    app.add_exception_handler(Exception, _internal_error)


# --- the door: body size and valid Unicode, before any handler runs ------------------------

BULK_ROUTE: dict[str, Any] = {"x-ikm-bulk": True}
"""``openapi_extra`` of a route that may take the larger bulk body allowance."""

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\xed[\xa0-\xbf]")
_JSON_TYPE = re.compile(rb"^application/([a-z0-9.+-]*\+)?json\b", re.IGNORECASE)


class RequestGuard:
    """Pure ASGI: refuses a body over its limit (413) and JSON text that is not valid Unicode
    (422), before routing, parsing or any handler.

    Bytes are counted as they stream in, so a missing or lying ``Content-Length`` changes
    nothing; a declared length over the limit is refused without reading. Routes marked
    ``BULK_ROUTE`` get ``bulk_max_bytes`` instead of ``max_bytes``. A JSON string may spell a
    lone surrogate (``"\\udcff"``), which no UTF-8 store, log or response can hold; it is
    found here once for every model and field rather than in each of them.
    """

    def __init__(
        self, app: ASGIApp, *, routes_of: FastAPI, max_bytes: int, bulk_max_bytes: int
    ) -> None:
        self.app = app
        self.routes_of = routes_of
        self.max_bytes = max_bytes
        self.bulk_max_bytes = bulk_max_bytes
        self._bulk: list[tuple[re.Pattern[str], set[str]]] | None = None

    def limit_for(self, scope: Scope) -> int:
        if self._bulk is None:  # an app served without a lifespan (tests): its first request
            self._bulk = _bulk_routes(self.routes_of)
        for pattern, methods in self._bulk:
            if scope["method"] in methods and pattern.match(scope["path"]):
                return self.bulk_max_bytes
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self._bulk is None:
                # Read from the OpenAPI document (~0.2 s to build): at startup, with every
                # route included, rather than on the event loop of the first request.
                self._bulk = _bulk_routes(self.routes_of)
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"").strip()
        if declared.isdigit() and int(declared) > limit:
            await _too_large(limit, scope, receive, send, declared=int(declared))
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # client went away: let the app see it
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size > limit:
                await _too_large(limit, scope, receive, send, read=size, more=more)
                return
            chunks.append(chunk)
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"")
        if not content_type or _JSON_TYPE.match(content_type):  # FastAPI reads both as JSON
            bad = _unencodable_text(body)
            if bad is not None:
                await _invalid_unicode(bad, scope, send)
                return
        replayed = {"type": "http.request", "body": body, "more_body": False}
        await self.app(scope, _replay([replayed], receive), send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def _unencodable_text(body: bytes) -> list[str | int] | None:
    """Where in the JSON body a string (or key) cannot be encoded as UTF-8; None if nowhere.

    Only bodies that spell a surrogate at all (escaped, or CESU-8 bytes that ``json`` decodes
    with ``surrogatepass``) are parsed here; every other body goes through untouched."""
    if (b"\\u" not in body and b"\xed" not in body) or not _SURROGATE_ESCAPE.search(body):
        return None  # the substring tests are memchr-fast; the regex runs only if they hit
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None  # not JSON: FastAPI answers that itself
    stack: list[tuple[object, list[str | int]]] = [(document, ["body"])]
    while stack:  # iterative: nesting depth is the client's choice
        value, loc = stack.pop()
        if isinstance(value, str) and not _encodable(value):
            return loc
        if isinstance(value, dict):
            for key, item in value.items():
                if not _encodable(key):
                    return [*loc, _printable(key)]
                stack.append((item, [*loc, key]))
        elif isinstance(value, list):
            stack.extend((item, [*loc, i]) for i, item in enumerate(value))
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _printable(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode()


async def _respond(body: dict[str, Any], send: Send) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": body["status"],
            "headers": [
                (b"content-type", MEDIA_TYPE.encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


DRAIN_FACTOR = 8
"""A refused body up to this many times the limit is read (and dropped) before the 413."""


async def _too_large(
    limit: int,
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    declared: int = 0,
    read: int = 0,
    more: bool = True,
) -> None:
    """413 naming the limit. A client writes its whole body before it reads an answer, and
    a socket closed with unread bytes is reset: the client would see a broken connection,
    not the 413. So the rest of a refused body is read and dropped first, up to
    ``DRAIN_FACTOR`` times the limit (past that, or declared past it, nothing more is read:
    the reset is the answer)."""
    budget = limit * DRAIN_FACTOR
    size = read
    while more and declared <= budget and size <= budget:
        message = await receive()
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        more = message.get("more_body", False)
    refusal = f"request body is larger than the limit of {limit} bytes ({_human(limit)})"
    body = problem(413, "too_large.body", refusal, instance=scope["path"], limit_bytes=limit)
    await _respond(body, send)


async def _invalid_unicode(loc: Iterable[str | int], scope: Scope, send: Send) -> None:
    where = list(loc)
    field = ".".join(str(part) for part in where[1:]) or "body"
    message = f"{field} is not valid Unicode text (it contains a lone surrogate)"
    body = validation_problem(
        [FieldError(where, "invalid.unicode", message)], instance=scope["path"]
    )
    await _respond(body, send)


def _human(size: int) -> str:
    return f"{size / 1024 / 1024:g} MiB" if size >= 1024 * 1024 else f"{size / 1024:g} KiB"


def _bulk_routes(app: FastAPI) -> list[tuple[re.Pattern[str], set[str]]]:
    """The operations marked ``x-ikm-bulk``, read from the app's OpenAPI: it lists every route
    with its full path however routers were included (FastAPI wraps included routers)."""
    bulk: list[tuple[re.Pattern[str], set[str]]] = []
    for path, operations in app.openapi().get("paths", {}).items():
        methods = {m.upper() for m, op in operations.items() if (op or {}).get("x-ikm-bulk")}
        if methods:
            bulk.append((compile_path(path)[0], methods))
    return bulk


def install_request_guard(app: FastAPI, *, max_bytes: int, bulk_max_bytes: int) -> None:
    app.add_middleware(
        RequestGuard, routes_of=app, max_bytes=max_bytes, bulk_max_bytes=bulk_max_bytes
    )
