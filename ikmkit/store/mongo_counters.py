"""MongoDB's side of counter collections (``Counters``): the update that adds a delta."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ikmkit.store.port import Counters, Document, StoreError


def counter_update(doc: Document, field: str, delta: int) -> dict[str, Any]:
    """The update adding ``delta`` to a counter; inserted, it holds the rest of ``doc`` too
    (``$setOnInsert`` only if there is a rest: MongoDB refuses an empty one)."""
    update: dict[str, Any] = {"$inc": {field: delta, "version": 1}}
    rest = {k: v for k, v in doc.items() if k not in ("id", field, "version")}
    if rest:
        update["$setOnInsert"] = rest
    return update


def row_counts(name: str, counters: Counters, rows: Sequence[Sequence[Any]]) -> list[Any]:
    """``add_count_rows``' rows as ``add_counts``' (document, delta) pairs."""
    fields = tuple(counters.fields)
    if any(len(row) != len(fields) + 1 for row in rows):
        raise StoreError(f"{name}: a row is its {len(fields)} fields and a delta")
    return [(dict(zip(fields, row, strict=False)), row[-1]) for row in rows]
