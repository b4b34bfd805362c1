"""Commands whose ``str``/``int`` parameters are parsed without pydantic.

Typer coerces every parameter (even ``--help``) through a pydantic ``TypeAdapter``;
importing pydantic for it costs more than a third of ``ikm token``'s start-up budget
(0.3 s). ``plain_params`` gives a command's ``bool``, ``str`` and ``int`` parameters
(optional or not) plain coercion instead; other parameter types keep typer's.
``tests/unit/test_cli_startup.py`` fails if typer changes so that this no longer holds.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, Union, get_args, get_origin

import typer
from typer._coercion import RuntimeParam
from typer.core import TyperCommand, _TyperParameter

_PLAIN: dict[Any, Any] = {str: str, int: int, bool: bool}
_TRUE = frozenset({"1", "true", "t", "yes", "y", "on"})


def _plain_type(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        kinds = [a for a in get_args(annotation) if a is not type(None)]
        annotation = kinds[0] if len(kinds) == 1 else None
    return _PLAIN.get(annotation)


@dataclass(frozen=True)
class _PlainParam(RuntimeParam):
    kind: Any = str

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        if self.kind is bool and not isinstance(value, bool):
            return str(value).strip().lower() in _TRUE
        try:
            return self.kind(value)
        except ValueError as exc:
            message = f"{value!r} is not a valid {self.kind.__name__}."
            raise typer.BadParameter(message, ctx=ctx, param=param) from exc


def plain_params(params: list[Any]) -> list[Any]:
    """Give these ``bool``/``str``/``int`` parameters plain coercion; returns them."""
    for param in params:
        if not isinstance(param, _TyperParameter) or param._runtime_param is not None:
            continue
        described = param.type_descriptor
        kind = _plain_type(described.annotation)
        if kind is not None:
            param._runtime_param = _PlainParam(described.parameter_info, described.annotation, kind)
    return params


class PlainCommand(TyperCommand):
    """A typer command whose simple parameters skip pydantic (see the module doc)."""

    def get_params(self, ctx: Any) -> list[Any]:
        return plain_params(super().get_params(ctx))
