"""Masks the fields a contract marks as personal data (``x-personal-data``, UU PDP).

The marking lives on the contract (``contracts.base.PersonalStr``), so a new
personal field is masked in audit reports as soon as it is typed ``PersonalStr``. Each value is
masked by the rule of its kind (``contracts.privacy``), told by the field's name
(``owner.email``, ``participant_name``), so a phone number reads the same here as in a log line.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from contracts.base import Event
from contracts.privacy import REDACTED, field_kind, mask
from contracts.schema import personal_data_paths

MASK = REDACTED


@cache
def personal_paths(model: type[Event]) -> tuple[str, ...]:
    """Dotted paths of ``model``'s personal-data fields (``owner.email``, ``items[].name``)."""
    return tuple(personal_data_paths(model.model_json_schema()))


def mask_value(value: Any, field: str = "") -> Any:
    """``value`` of the personal field ``field`` masked by its kind's rule (unknown: withheld)."""
    if value is None:
        return None
    if isinstance(value, str):
        return mask(field_kind(field), value)
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


def _mask_path(node: Any, parts: list[str], field: str = "") -> None:
    """Mask what ``parts`` reaches in ``node``; ``field`` is the last field name on the way."""
    if not parts or node is None:
        return
    head, rest = parts[0], parts[1:]
    if head == "[]" and isinstance(node, list):
        for i, item in enumerate(node):
            if rest:
                _mask_path(item, rest, field)
            else:
                node[i] = mask_value(item, field)
    elif head == "{}" and isinstance(node, dict):
        for key in list(node):
            if rest:
                _mask_path(node[key], rest, field)
            else:
                node[key] = mask_value(node[key], field)
    elif isinstance(node, dict) and head in node:
        if rest:
            _mask_path(node[head], rest, head)
        else:
            node[head] = mask_value(node[head], head)
