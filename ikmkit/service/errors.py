"""Errors the HTTP layer maps to precise status codes (see ``ikmkit.service.http``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
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


class InvalidInputs(InvalidInput):
    """Several fields break rules: one 422 naming every field and rule at once."""

    def __init__(self, violations: Sequence[InvalidInput]) -> None:
        self.violations = list(violations)
        first = self.violations[0]
        super().__init__(first.message, field=first.field, rule=first.rule)


@dataclass
class Violations:
    """Runs rule checks, keeping every violation, so one answer names them all."""

    found: list[InvalidInput] = field(default_factory=list)

    def check[T](self, rule: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        try:
            return rule(*args, **kwargs)
        except InvalidInputs as exc:
            self.found.extend(exc.violations)
        except InvalidInput as exc:
            self.found.append(exc)
        return None

    def raise_all(self) -> None:
        if len(self.found) == 1:
            raise self.found[0]
        if self.found:
            raise InvalidInputs(self.found)


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
