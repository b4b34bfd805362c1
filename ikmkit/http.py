"""HTTP plumbing: one error format for every service, and latency metrics.

Every error body has FastAPI's validation shape, so clients parse one format:
``{"detail": [{"loc": ["body", "nib"], "msg": "...", "type": "invalid.nib_length"}]}``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from ikmkit import metrics
from ikmkit.errors import AppError
from ikmkit.store import DuplicateKey, VersionConflict
from ikmkit.store.keyset import InvalidCursor


def error_body(message: str, *, loc: list[str], error_type: str) -> dict[str, object]:
    return {"detail": [{"loc": loc, "msg": message, "type": error_type}]}


def _app_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, AppError)
    loc = ["body", exc.field] if exc.field else []
    error_type = f"{exc.error_type}.{exc.rule}" if exc.rule else exc.error_type
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return JSONResponse(
        error_body(exc.message, loc=loc, error_type=error_type),
        status_code=exc.status_code,
        headers=headers,
    )


def _version_conflict(_: Request, exc: Exception) -> Response:
    return JSONResponse(
        error_body(str(exc), loc=["body", "version"], error_type="conflict.version"),
        status_code=409,
    )


def _duplicate(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, DuplicateKey)
    return JSONResponse(
        error_body(
            f"already exists: {exc.collection} {exc.existing_id}",
            loc=["body", *exc.fields],
            error_type="conflict.duplicate",
        ),
        status_code=409,
    )


def _bad_cursor(_: Request, exc: Exception) -> Response:
    return JSONResponse(
        error_body(str(exc), loc=["query", "cursor"], error_type="invalid.cursor"), status_code=422
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(VersionConflict, _version_conflict)
    app.add_exception_handler(DuplicateKey, _duplicate)
    app.add_exception_handler(InvalidCursor, _bad_cursor)


def install_latency_metrics(app: FastAPI, service: str) -> None:
    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        metrics.HTTP_LATENCY.labels(
            service, request.method, path, str(response.status_code)
        ).observe(time.perf_counter() - started)
        return response
