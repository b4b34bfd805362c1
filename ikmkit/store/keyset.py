"""Keyset (cursor) pagination shared by the store adapters."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from ikmkit.store.port import Direction, Document, OrderBy


def full_order(order_by: OrderBy, key: Sequence[str] = ("id",)) -> list[tuple[str, Direction]]:
    """The requested order with the documents' unique ``key`` appended as the tie-breaker
    (``id``; a counter collection's fields, ``Counters.key``)."""
    order = [(f, d) for f, d in order_by if f != "id"]
    present = {f for f, _ in order}
    order.extend((f, 1) for f in key if f not in present)
    return order


def field_value(doc: Document, path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def encode_cursor(doc: Document, order: list[tuple[str, Direction]]) -> str:
    values = [field_value(doc, f) for f, _ in order]
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class InvalidCursor(ValueError):
    pass


def decode_cursor(cursor: str, order: list[tuple[str, Direction]]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("cursor is not a valid page cursor") from exc
    if not isinstance(values, list) or len(values) != len(order):
        raise InvalidCursor("cursor does not match this query's ordering")
    if not all(_comparable(v) for v in values):
        raise InvalidCursor("cursor is not a valid page cursor")
    return values


_INT64 = range(-(2**63), 2**63)


def _comparable(value: Any) -> bool:
    """A sort key's value as a store compares it: issued cursors hold only these; an object,
    a list or an integer past 64 bits comes from a tampered one (SQLite cannot bind it)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value in _INT64
    return value is None or isinstance(value, str | float | bool)
