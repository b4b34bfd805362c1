"""What a bulk endpoint answers about each row it refused: the rules broken, named."""

from __future__ import annotations

from pydantic import BaseModel

from ikmkit.service.errors import AppError


class Violation(BaseModel):
    field: str | None = None
    rule: str | None = None
    message: str

    @classmethod
    def of(cls, exc: AppError) -> Violation:
        return cls(field=exc.field, rule=exc.rule, message=exc.message)


class RowViolation(Violation):
    row: int
    """The row of the request (0-based) that breaks the rule."""
