"""Errors the HTTP layer maps to precise status codes (see ``ikmkit.service.http``)."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import TypeAdapter, ValidationError


class AppError(Exception):
    status_code = 400
    error_type = "error"

    def __init__(self, message: str, *, field: str | None = None, rule: str | None = None) -> None:
        self.message = message
        self.field = field
        self.rule = rule
        super().__init__(message)


class InvalidInput(AppError):
    """A field breaks a rule: 422 naming the field and the rule."""

    status_code = 422
    error_type = "invalid"


class NotFound(AppError):
    status_code = 404
    error_type = "not_found"


class Conflict(AppError):
    """Duplicate, version conflict or state-machine violation: 409."""

    status_code = 409
    error_type = "conflict"


class Forbidden(AppError):
    status_code = 403
    error_type = "forbidden"


class Unauthorized(AppError):
    status_code = 401
    error_type = "unauthorized"


@cache
def _adapter(kind: Any) -> TypeAdapter[Any]:
    return TypeAdapter(kind)


def checked(kind: Any, value: object, field: str, *, rule: str | None = None) -> str:
    """``value`` as the text type ``kind`` (a ``contracts.values`` type) accepts it, or its
    rule as an ``InvalidInput`` naming ``field``: the domain checks a shared value with the
    same rule its request model does, and reports it among its other rules."""
    try:
        return str(_adapter(kind).validate_python(value))
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InvalidInput(error["msg"], field=field, rule=rule or error["type"]) from None
