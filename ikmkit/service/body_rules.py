"""A body that breaks its request model's schema is held to the domain's rules too, on the
fields the schema accepted: one answer names every field and rule the input breaks, so a
client corrects it once, and a request and an import's row are answered alike.

A request model opts in with a ``rules_broken`` class method (``RuledBody``); the problem
answer for a request (``ikmkit.service.http``) and the imports call ``rules_beside_schema``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, TypeAdapter, ValidationError

from ikmkit.service.errors import InvalidInput


class RuledBody(Protocol):
    @classmethod
    def rules_broken(cls, fields: dict[str, Any]) -> list[InvalidInput]:
        """Every domain rule ``fields`` breaks; a field absent or ``None`` is not checked."""
        ...


def rules_beside_schema(
    model: type[BaseModel], given: object, errors: Iterable[Mapping[str, Any]]
) -> list[InvalidInput]:
    """The domain's rules ``given`` breaks besides ``errors``, the schema's (pydantic's, each
    ``loc`` starting at the model's field)."""
    check = getattr(model, "rules_broken", None)
    if check is None or not isinstance(given, dict):
        return []
    broken = {str(e["loc"][0]) for e in errors if e["loc"]}
    found: list[InvalidInput] = check(accepted(model, given, broken))
    # A refused field already has its rule named; what a domain rule says of it read missing
    # ("a regency needs its province") would name it twice, wrongly.
    return [v for v in found if _top(v.field) not in broken]


def _top(field: str | None) -> str:
    return (field or "").partition(".")[0].partition("[")[0]


def accepted(model: type[BaseModel], given: Mapping[str, Any], broken: set[str]) -> dict[str, Any]:
    """The fields the request model accepted, as it converts them (the domain's rules must see
    the number 0, not the text "0000" a file had); the broken ones as missing, and those the
    model does not have left out."""
    fields: dict[str, Any] = {}
    for name, value in given.items():
        if name in model.model_fields:
            fields[name] = None if name in broken else _converted(_field(model, name), value)
    return fields


def _converted(field: TypeAdapter[Any], value: object) -> object:
    try:
        return field.dump_python(field.validate_python(value))
    except ValidationError:  # accepted as JSON, not as Python (strict types): not checked
        return None


@cache
def _field(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    hint: Any = Annotated[info.annotation, info]
    return TypeAdapter(hint)
