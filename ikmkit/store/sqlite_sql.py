"""SQL building and document encoding for the SQLite adapter (``ikmkit.store.sqlite``):
table and field-path names, filters and keyset conditions as SQL, JSON in and out."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from ikmkit.store.port import ENCODING_ERRORS, Document, Filter, In, Range, StoreError, unstorable

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def table_name(name: str) -> str:
    if not NAME.match(name):
        raise StoreError(f"invalid collection name {name!r}")
    return f'"c_{name}"'


def field_sql(path: str) -> str:
    if path == "id":
        return "id"
    if path == "version":
        return "version"
    if not PATH.match(path):
        raise StoreError(f"invalid field path {path!r}")
    return f"json_extract(doc, '$.{path}')"


def add_count_sql(table: str, field: str) -> str:
    """The upsert of one counter, parameters (id, the new document, delta): the document
    inserted as it is, or the delta added to the stored one's ``field`` in place (its other
    fields, and their order, unchanged)."""
    path = f"'$.{checked(field)}'"
    return (
        f"INSERT INTO {table} (id, version, doc) VALUES (?1, 1, ?2) ON CONFLICT(id) DO UPDATE"
        f" SET version = version + 1, doc = json_set(doc, {path},"
        f" coalesce(json_extract(doc, {path}), 0) + ?3, '$.version', version + 1)"
    )


def sql_value(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    return value


def where_sql(
    where: Filter | None, column: Callable[[str], str] = field_sql
) -> tuple[str, list[Any]]:
    """``where`` as a ``WHERE`` clause and its parameters (``column``: a field's SQL)."""
    clauses: list[str] = []
    params: list[Any] = []
    for path, value in (where or {}).items():
        expr = column(path)
        if isinstance(value, In):
            if not value.values:
                clauses.append("0")
                continue
            clauses.append(f"{expr} IN ({','.join('?' * len(value.values))})")
            params.extend(sql_value(v) for v in value.values)
        elif isinstance(value, Range):
            if value.gte is not None:
                clauses.append(f"{expr} >= ?")
                params.append(sql_value(value.gte))
            if value.lt is not None:
                clauses.append(f"{expr} < ?")
                params.append(sql_value(value.lt))
        elif value is None:
            clauses.append(f"{expr} IS NULL")
        elif value is True or value is False:
            # a literal (what binding it gives: 1 or 0), so a partial index on it is usable
            clauses.append(f"{expr} = {int(value)}")
        else:
            clauses.append(f"{expr} = ?")
            params.append(sql_value(value))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
"""``json.dumps(doc, separators=(",", ":"), ensure_ascii=False)``, without building an encoder
per document."""


def dumps(doc: Document) -> str:
    """The document's JSON text: what ``ENCODER`` writes, four to five times faster (orjson;
    only a float's exponent may be spelled differently, ``1e-7`` for ``1e-07``, the same
    number). What orjson refuses (an int beyond 64 bits, a lone surrogate, a non-string key)
    and what it would change (a non-finite float becomes ``null``) go through ``ENCODER``, so
    the stored values never differ."""
    try:
        text = orjson.dumps(doc)
    except orjson.JSONEncodeError:
        return ENCODER.encode(doc)
    if b"null" in text and _non_finite(doc):
        return ENCODER.encode(doc)
    return text.decode()


def _non_finite(doc: Document) -> bool:
    """Whether a float in ``doc`` is NaN or infinite (a loop over plain types first: this
    runs for every document with a null in it)."""
    if _SCALARS.issuperset(map(type, doc.values())):
        return False  # a flat document (most are), checked in C
    todo: list[Any] = list(doc.values())
    while todo:
        value = todo.pop()
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is dict:
            todo.extend(value.values())
        elif kind is list or kind is tuple:
            todo.extend(value)
        elif isinstance(value, float):
            if not math.isfinite(value):
                return True
        elif isinstance(value, dict):
            todo.extend(value.values())
        elif isinstance(value, list | tuple):
            todo.extend(value)
    return False


_SCALARS = frozenset({str, int, bool, type(None)})


class Guarded:
    """The connection as a unit of work uses it: a value SQLite cannot bind (a lone surrogate
    cannot be encoded as UTF-8; an int beyond 64 bits) is the caller's error, not a crash."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except ENCODING_ERRORS as exc:
            raise unstorable(exc) from exc

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> sqlite3.Cursor:
        try:
            return self._conn.executemany(sql, rows)
        except ENCODING_ERRORS as exc:
            raise unstorable(exc) from exc


def number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def checked(path: str) -> str:
    if not PATH.match(path):
        raise StoreError(f"invalid field path {path!r}")
    return path


def load(raw: str) -> Document:
    # Not orjson: it reads an int beyond 64 bits as a float.
    doc: Document = json.loads(raw)
    return doc


def keyset_sql(
    order: list[tuple[str, Any]], values: list[Any], column: Callable[[str], str] = field_sql
) -> tuple[str, list[Any]]:
    """``(a, b, id) > (va, vb, vid)`` honouring each field's direction."""
    ors: list[str] = []
    params: list[Any] = []
    for i, (path, direction) in enumerate(order):
        ands = [f"{column(p)} = ?" for p, _ in order[:i]]
        params.extend(values[:i])
        ands.append(f"{column(path)} {'>' if direction == 1 else '<'} ?")
        params.append(values[i])
        ors.append("(" + " AND ".join(ands) + ")")
    return "(" + " OR ".join(ors) + ")", params
