"""A body that breaks its request model's schema is held to the domain's rules too, on the
fields the schema accepted: one answer names every field and rule the input breaks, so a
client corrects it once, and a request and an import's row are answered alike.

A request model opts in with a ``rules_broken`` class method (``RuledBody``); the problem
answer for a request (``ikmkit.service.http``) and the imports call ``rules_beside_schema``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, TypeAdapter, ValidationError

from ikmkit.service.errors import InvalidInput

_log = logging.getLogger(__name__)


class RuledBody(Protocol):
    @classmethod
    def rules_broken(cls, fields: dict[str, Any]) -> list[InvalidInput]:
        """Every domain rule ``fields`` breaks (``accepted``'s: a rule reading a field that is
        not there does not run)."""
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
    try:
        found: list[InvalidInput] = check(accepted(model, given, broken))
    except Exception as exc:  # the schema's errors still answer; a rule's bug must not 500 them
        _log.warning("%s.rules_broken failed: %s", model.__name__, type(exc).__name__)
        return []
    # A refused field already has its rule named; what a domain rule says of it read missing
    # ("a regency needs its province") would name it twice, wrongly.
    return [v for v in found if _top(v.field) not in broken]


def _top(field: str | None) -> str:
    return (field or "").partition(".")[0].partition("[")[0]


def accepted(model: type[BaseModel], given: Mapping[str, Any], broken: set[str]) -> dict[str, Any]:
    """The fields as the request model would hold them: those given and accepted as it
    converts them (the domain's rules must see the number 0, not the text "0000" a file had),
    those not given at their defaults. A field it refused, or lacks with no default, is left
    out: a rule reading it must not run (``RuledBody``)."""
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if name in broken:
            continue
        if name in given:
            value = _converted(_field(model, name), given[name])
            if value is not _REFUSED:
                fields[name] = value
        elif not info.is_required():
            fields[name] = info.get_default(call_default_factory=True)
    return fields


_REFUSED = object()


def _converted(field: TypeAdapter[Any], value: object) -> object:
    try:
        return field.dump_python(field.validate_python(value))
    except ValidationError:  # accepted as JSON, not as Python (strict types): not checked
        return _REFUSED


@cache
def _field(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    info = model.model_fields[name]
    hint: Any = Annotated[info.annotation, info]
    return TypeAdapter(hint)
