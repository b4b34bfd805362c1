"""Documents and filters as MongoDB sees them (for ``ikmkit.store.mongo``): the id as
``_id``, filters and keyset conditions as query documents."""

from __future__ import annotations

from typing import Any

from ikmkit.store.port import Document, Filter, In, Range

Raw = dict[str, Any]


def mongo_path(path: str) -> str:
    return "_id" if path == "id" else path


def mongo_query(where: Filter | None) -> Raw:
    query: Raw = {}
    for path, value in (where or {}).items():
        if isinstance(value, In):
            query[mongo_path(path)] = {"$in": list(value.values)}
        elif isinstance(value, Range):
            bounds: Raw = {}
            if value.gte is not None:
                bounds["$gte"] = value.gte
            if value.lt is not None:
                bounds["$lt"] = value.lt
            if bounds:
                query[mongo_path(path)] = bounds
        else:
            query[mongo_path(path)] = value
    return query


def to_raw(doc: Document) -> Raw:
    raw = {k: v for k, v in doc.items() if k != "id"}
    raw["_id"] = doc["id"]
    return raw


def from_raw(raw: Raw) -> Document:
    doc = {k: v for k, v in raw.items() if k != "_id"}
    return {"id": raw["_id"], **doc}


def keyset_query(order: list[tuple[str, Any]], values: list[Any]) -> Raw:
    ors: list[Raw] = []
    for i, (path, direction) in enumerate(order):
        clause: Raw = {mongo_path(p): values[j] for j, (p, _) in enumerate(order[:i])}
        clause[mongo_path(path)] = {"$gt" if direction == 1 else "$lt": values[i]}
        ors.append(clause)
    return {"$or": ors}
