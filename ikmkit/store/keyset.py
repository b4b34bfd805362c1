"""Keyset (cursor) pagination shared by the store adapters."""

from __future__ import annotations

import base64
import hashlib
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


def listing_tag(listing: str, order: list[tuple[str, Direction]]) -> str:
    """What a cursor remembers of the query that issued it: the collection and the order
    (fields and directions). A cursor of another listing (``/inbox``'s, newest first, given to
    ``/dead``, oldest first; a course list's given to the inbox) would otherwise be read as a
    position in this one and answer some other page, often an empty one."""
    text = json.dumps([listing, order], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def encode_cursor(doc: Document, order: list[tuple[str, Direction]], listing: str) -> str:
    values = [field_value(doc, f) for f, _ in order]
    body = {"of": listing_tag(listing, order), "after": values}
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class InvalidCursor(ValueError):
    pass


def decode_cursor(
    cursor: str, order: list[tuple[str, Direction]], listing: str | None = None
) -> list[Any]:
    """The sort keys' values a cursor holds; with ``listing`` (the stores always give it),
    only a cursor that listing issued for this order is accepted."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("cursor is not a valid page cursor") from exc
    if listing is not None:
        if not isinstance(values, dict) or values.get("of") != listing_tag(listing, order):
            raise InvalidCursor(
                "cursor was not issued by this listing (another endpoint's or order's cursor):"
                " start again without cursor"
            )
        values = values.get("after")
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
