"""A route that answers a well-formed JSON write without FastAPI's general request machinery.

FastAPI handles every request of every route the same general way: the content type parsed
with ``email.message``, every dependency solved through its cache keys, scope checks and
telemetry hooks, the response built through ``serialize_response``. For a write route of the
usual shape (one JSON body model, dependencies that take only the ``Request``: the caller and
the service's ``Deps``), that general path costs ~25 % of the registry's HTTP plumbing
(``bench._registry_plumbing``). ``LeanRoute`` answers such a route's requests whose body is
``application/json`` and parses by the same steps, with FastAPI's own body and response fields:

- the body is read with Starlette's ``Request.json`` and validated by the route's body field
  exactly as FastAPI validates it (``loc=("body",)``);
- anything else (another or no content type, invalid JSON, JSON ``json`` cannot parse (too
  deep, an integer past its digit limit), JSON ``null``, dependency overrides set, FastAPI's
  own telemetry on) goes to FastAPI's own handler, which answers as it always has; a body
  that cannot be read at all (the client gone, over FastAPI's own size limit) is answered
  with the error FastAPI's handler raises for it, as the stream is spent by then;
- the dependencies run once each, in FastAPI's order, before the body is validated, as in
  FastAPI (a request without a valid token costs no validation); a body that fails
  validation is FastAPI's ``RequestValidationError`` with the same errors, validated once;
- the response is FastAPI's: validated and written by the route's response field with the
  route's ``response_model_*`` options, ``application/json``, the route's status code.

A route of any other shape (path, query, header or cookie parameters, a form, a dependency
with parameters or sub-dependencies, a generator, a custom response class, a stream) gets
FastAPI's handler unchanged. ``tests/unit/test_lean_route.py`` compares both handlers' answers
byte for byte.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import params
from fastapi._body_limit import get_body_limit_error as body_limit_error
from fastapi.datastructures import DefaultPlaceholder
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import EndpointContext, RequestValidationError, ResponseValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, _extract_endpoint_context
from fastapi.routing import _effective_route_context_var as _effective_route
from fastapi.telemetry._api import _get_request_telemetry as _request_telemetry
from starlette.exceptions import HTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.requests import Request
from starlette.responses import Response

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class LeanRoute(APIRoute):
    """An ``APIRoute`` whose JSON writes of the usual shape skip FastAPI's general handler."""

    def get_route_handler(self) -> Handler:
        full = super().get_route_handler()
        context = _effective_route.get()  # how FastAPI finds an included route's settings
        route = context if context is not None and context.original_route is self else self
        plan = _plan(route)
        return full if plan is None else plan.handler(full)


@dataclass(frozen=True)
class _Plan:
    endpoint: Callable[..., Awaitable[Any]]
    body: Any  # FastAPI's ModelField of the body
    dependencies: tuple[tuple[str | None, Callable[[Request], Awaitable[Any]]], ...]
    response: Any  # FastAPI's ModelField of the response
    status_code: int | None
    dump: dict[str, Any]
    overrides: Any
    path: str | None

    def handler(self, full: Handler) -> Handler:
        async def lean(request: Request) -> Response:
            if request.headers.get("content-type") != "application/json" or self._overridden():
                return await full(request)
            if _request_telemetry() is not None:  # FastAPI's own telemetry records this one
                return await full(request)
            raw = await _read(request)
            try:
                data = await request.json() if raw else None
            except Exception:  # invalid JSON, text, too deep: FastAPI's answer
                return await full(request)  # the body is read: it parses it again
            if data is None:
                return await full(request)
            # FastAPI's order: the dependencies (the caller's 401/403) before the body is
            # validated, so a client without a token cannot buy a bulk body's validation
            values = {}
            for name, call in self.dependencies:
                value = await call(request)
                if name is not None:  # a route's ``dependencies=[...]``: run for its effect
                    values[name] = value
            value, errors = self.body.validate(data, {}, loc=("body",))
            if errors:  # FastAPI's 422 for them, without validating the body a second time
                raise RequestValidationError(errors, body=data, endpoint_ctx=self._where(request))
            return await self._answer(request, value, values)

        return lean

    def _where(self, request: Request) -> EndpointContext:
        """What FastAPI's handler names the endpoint by in a request or response validation
        error (its file, line, method and path: logged with the error)."""
        where = _extract_endpoint_context(self.endpoint)
        mount = request.scope.get("root_path", "").rstrip("/")
        if self.path:
            where["path"] = f"{request.method} {mount}{self.path}"
        return where

    def _overridden(self) -> bool:
        return bool(getattr(self.overrides, "dependency_overrides", None))

    async def _answer(self, request: Request, body: Any, values: dict[str, Any]) -> Response:
        values[self.body.name] = body
        raw = await self.endpoint(**values)
        if isinstance(raw, Response):
            return raw
        value, errors = self.response.validate(raw, {}, loc=("response",))
        if errors:
            raise ResponseValidationError(
                errors=errors, body=raw, endpoint_ctx=self._where(request)
            )
        content = self.response.serialize_json(value, **self.dump)
        if self.status_code is None:
            return Response(content=content, media_type="application/json")
        return Response(
            content=content, status_code=self.status_code, media_type="application/json"
        )


async def _read(request: Request) -> bytes:
    """The body, or the error FastAPI's handler raises when it cannot be read (a client gone:
    400; a body over FastAPI's own size limit: its 413). The stream is spent by then, so
    FastAPI's handler could not read it again to answer."""
    try:
        return await request.body()
    except HTTPException:
        raise
    except Exception as exc:
        if MAX_BODY_SIZE_SCOPE_KEY in request.scope and (error := body_limit_error(exc)):
            raise error from exc
        raise HTTPException(400, "There was an error parsing the body") from exc


def _plan(route: Any) -> _Plan | None:
    """What a lean handler needs, or None if the route is not of the shape it answers."""
    dependant: Dependant = route.dependant
    if not _plain_response(route) or not _plain_body(route) or _has_extras(dependant):
        return None
    if dependant.path_params or dependant.query_params or dependant.header_params:
        return None
    if dependant.cookie_params or not inspect.iscoroutinefunction(dependant.call):
        return None
    dependencies = [_request_only(sub) for sub in dependant.dependencies]
    if any(d is None for d in dependencies):
        return None
    calls = [d for d in dependencies if d is not None]
    if len({id(call) for _, call in calls}) != len(calls):
        return None  # one dependency twice: FastAPI's cache runs it once
    return _Plan(
        endpoint=dependant.call,
        body=route.body_field,
        dependencies=tuple(calls),
        response=route.response_field,
        status_code=route.status_code,
        dump={
            "include": route.response_model_include,
            "exclude": route.response_model_exclude,
            "by_alias": route.response_model_by_alias,
            "exclude_unset": route.response_model_exclude_unset,
            "exclude_defaults": route.response_model_exclude_defaults,
            "exclude_none": route.response_model_exclude_none,
        },
        overrides=route.dependency_overrides_provider,
        path=dependant.path,
    )


def _plain_response(route: Any) -> bool:
    response_class = route.response_class
    return (
        isinstance(response_class, DefaultPlaceholder)
        and response_class.value is JSONResponse
        and route.response_field is not None
        and route.stream_item_field is None
        and not route.is_json_stream
        and route.status_code not in {204, 304}
        and not (route.status_code is not None and route.status_code < 200)
    )


def _plain_body(route: Any) -> bool:
    body = route.body_field
    return (
        body is not None
        and len(route.dependant.body_params) == 1
        and not route._embed_body_fields
        and not isinstance(body.field_info, params.Form)
    )


def _has_extras(dependant: Dependant) -> bool:
    return any(
        name is not None
        for name in (
            dependant.request_param_name,
            dependant.websocket_param_name,
            dependant.http_connection_param_name,
            dependant.response_param_name,
            dependant.background_tasks_param_name,
            dependant.security_scopes_param_name,
        )
    )


def _request_only(
    sub: Dependant,
) -> tuple[str | None, Callable[[Request], Awaitable[Any]]] | None:
    """``(parameter name, call)`` of a dependency that takes only the request and is a plain
    coroutine function (or an object whose ``__call__`` is one), else None. The name is None
    for a dependency of the route or the app (``dependencies=[...]``), called for its effect."""
    call = sub.call
    if call is None or sub.own_oauth_scopes or sub.scope is not None:
        return None
    if sub.dependencies or sub.path_params or sub.query_params or sub.header_params:
        return None
    if sub.cookie_params or sub.body_params or sub.request_param_name is None:
        return None
    if any(
        name is not None
        for name in (
            sub.websocket_param_name,
            sub.http_connection_param_name,
            sub.response_param_name,
            sub.background_tasks_param_name,
            sub.security_scopes_param_name,
        )
    ):
        return None
    target = call if inspect.isfunction(call) else getattr(call, "__call__", None)  # noqa: B004
    if not inspect.iscoroutinefunction(target) or inspect.isclass(call):
        return None
    parameters = list(inspect.signature(call).parameters.values())
    if len(parameters) != 1 or parameters[0].kind is not parameters[0].POSITIONAL_OR_KEYWORD:
        return None
    return sub.name, call
