"""MongoDB's side of counter collections (``Counters``): the update that adds a delta."""

from __future__ import annotations

from typing import Any

from ikmkit.store.port import Document


def counter_update(doc: Document, field: str, delta: int) -> dict[str, Any]:
    """The update adding ``delta`` to a counter; inserted, it holds the rest of ``doc`` too
    (``$setOnInsert`` only if there is a rest: MongoDB refuses an empty one)."""
    update: dict[str, Any] = {"$inc": {field: delta, "version": 1}}
    rest = {k: v for k, v in doc.items() if k not in ("id", field, "version")}
    if rest:
        update["$setOnInsert"] = rest
    return update
