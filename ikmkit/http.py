"""HTTP plumbing: one error format for every service, and latency metrics.

Every error body has FastAPI's validation shape, so clients parse one format:
``{"detail": [{"loc": ["body", "nib"], "msg": "...", "type": "invalid.nib_length"}]}``.
"""

from __future__ import annotations

import time

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ikmkit import metrics
from ikmkit.errors import AppError
from ikmkit.store import DuplicateKey, TransactionConflict, VersionConflict
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


def _transaction_conflict(_: Request, exc: Exception) -> Response:
    return JSONResponse(
        error_body(
            "the record was changed by a concurrent request; retry",
            loc=[],
            error_type="conflict.concurrent",
        ),
        status_code=409,
        headers={"Retry-After": "1"},
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
    app.add_exception_handler(TransactionConflict, _transaction_conflict)
    app.add_exception_handler(InvalidCursor, _bad_cursor)


class LatencyMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware task per request): observes each request's latency."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, observe_status)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            metrics.HTTP_LATENCY.labels(self.service, scope["method"], path, str(status)).observe(
                time.perf_counter() - started
            )


def install_latency_metrics(app: FastAPI, service: str) -> None:
    app.add_middleware(LatencyMiddleware, service=service)
