"""Stored times whose text order is their time order.

Documents hold a time as text (pydantic's JSON form), and the stores compare and order that
text (a ``Range`` filter, an ``order_by``). Pydantic writes a whole second without a fraction
(``...T04:47:00Z``) and any other with six digits (``...T04:47:00.500000Z``), and a time in
another zone with its offset: as text ``00Z`` sorts after ``00.5Z``, so a notification due at
a whole second read as not due until the next one, and one due half a second later as due.

A collection declares the fields it compares (``CollectionSpec.times``); a repository writes
them in the one fixed-width UTC form of ``stored_time`` (``Repository.times``), and the
adapters rewrite values written in another form when the store opens (once per field: a
marker records it), so old stores read in time order too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("ikmkit.store")

MARKS = "ikm_migrations"
"""Where an adapter records the rewrites done when a store opens (``times:<collection>.<field>``,
``counter_ids:<collection>``), so the next open does not scan again."""
WIDTH = 27  # YYYY-MM-DDTHH:MM:SS.ffffffZ


def stored_time(at: datetime) -> str:
    """``at`` as stored: UTC, always six fraction digits (a naive time is taken as UTC)."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_stored(text: str) -> bool:
    return len(text) == WIDTH and text[19] == "." and text[26] == "Z"


def fixed(value: Any) -> Any:
    """A time's text in ``stored_time``'s form (anything else, e.g. None, as it is)."""
    if isinstance(value, datetime):
        return stored_time(value)
    if not isinstance(value, str) or is_stored(value):
        return value
    if len(value) == 20 and value[19] == "Z":  # pydantic's whole second
        return f"{value[:19]}.000000Z"
    try:
        return stored_time(datetime.fromisoformat(value))
    except ValueError:
        return value  # not a time: left for the model to refuse when it is read


def with_stored_times(doc: dict[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """``doc`` with its ``fields`` in the stored form (changed in place, returned)."""
    for f in fields:
        value = doc.get(f)
        if value is not None:
            doc[f] = fixed(value)
    return doc


def marker(collection: str, field: str) -> str:
    return f"times:{collection}.{field}"
