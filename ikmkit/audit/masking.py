"""Masks the fields a contract marks as personal data (``x-personal-data``, UU PDP).

The marking lives on the contract (``contracts.base.PersonalStr``), so a new
personal field is masked in audit reports as soon as it is typed ``PersonalStr``.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from contracts.base import Event
from contracts.schema import personal_data_paths

MASK = "***"


@cache
def personal_paths(model: type[Event]) -> tuple[str, ...]:
    """Dotted paths of ``model``'s personal-data fields (``owner.email``, ``items[].name``)."""
    return tuple(personal_data_paths(model.model_json_schema()))


def mask_value(value: Any) -> Any:
    """Keep the first character of a string (enough to tell records apart), mask the rest."""
    if value is None:
        return None
    if isinstance(value, str):
        return value[:1] + MASK if value else value
    return MASK


def mask_payload(model: type[Event], data: dict[str, Any]) -> dict[str, Any]:
    """A copy of an event's JSON data with every personal-data field masked."""
    paths = personal_paths(model)
    if not paths:
        return data
    masked = copy.deepcopy(data)
    for path in paths:
        _mask_path(masked, _split(path))
    return masked


def _split(path: str) -> list[str]:
    """``a[].b`` -> ``["a", "[]", "b"]``."""
    parts: list[str] = []
    for segment in path.split("."):
        name, suffixes = segment, list[str]()
        while name.endswith(("[]", "{}")):
            suffixes.insert(0, name[-2:])
            name = name[:-2]
        parts += [name, *suffixes] if name else suffixes
    return parts


def _mask_path(node: Any, parts: list[str]) -> None:
    if not parts or node is None:
        return
    head, rest = parts[0], parts[1:]
    if head == "[]" and isinstance(node, list):
        for i, item in enumerate(node):
            if rest:
                _mask_path(item, rest)
            else:
                node[i] = mask_value(item)
    elif head == "{}" and isinstance(node, dict):
        for key in list(node):
            if rest:
                _mask_path(node[key], rest)
            else:
                node[key] = mask_value(node[key])
    elif isinstance(node, dict) and head in node:
        if rest:
            _mask_path(node[head], rest)
        else:
            node[head] = mask_value(node[head])
