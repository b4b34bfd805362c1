"""The SQLite adapter's rewrite of a collection's ``times`` written in another form than
``stored_time``'s (by code before it; ``ikmkit.store.times``): once per field, in one
transaction, recorded in a marker table so later opens cost one lookup."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ikmkit.store.port import CollectionSpec
from ikmkit.store.sqlite_sql import checked, table_name
from ikmkit.store.times import MARKS, WIDTH, fixed, log, marker


def fix_times(
    conn: sqlite3.Connection,
    spec: CollectionSpec,
    column: Callable[[str], str],
    columns: frozenset[str] = frozenset(),
) -> None:
    """Rewrite ``spec.times`` not yet rewritten (``column``: a field's SQL; ``columns``:
    the fields that are real columns, the others are in the JSON document)."""
    if not spec.times:
        return
    conn.execute(f"CREATE TABLE IF NOT EXISTS {MARKS} (name TEXT PRIMARY KEY)")
    if not _todo(conn, spec):
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        for f in _todo(conn, spec):  # again under the write lock: another process may have
            _fix(conn, spec.name, f, column(f), f in columns)
            conn.execute(f"INSERT INTO {MARKS} (name) VALUES (?)", (marker(spec.name, f),))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _todo(conn: sqlite3.Connection, spec: CollectionSpec) -> list[str]:
    done = {r[0] for r in conn.execute(f"SELECT name FROM {MARKS}")}
    return [f for f in spec.times if marker(spec.name, f) not in done]


def _fix(conn: sqlite3.Connection, collection: str, field: str, expr: str, is_column: bool) -> None:
    table = table_name(collection)
    found = conn.execute(
        f"SELECT id, {expr} FROM {table} WHERE typeof({expr}) = 'text' AND NOT"
        f" (length({expr}) = {WIDTH} AND substr({expr}, 20, 1) = '.'"
        f" AND substr({expr}, {WIDTH}, 1) = 'Z')"
    ).fetchall()
    setter = f'"{field}" = ?' if is_column else f"doc = json_set(doc, '$.{checked(field)}', ?)"
    rows = [(fixed(value), doc_id) for doc_id, value in found]
    conn.executemany(f"UPDATE {table} SET {setter} WHERE id = ?", rows)
    if rows:
        log.info("%s.%s: %d times rewritten in the fixed-width form", collection, field, len(rows))
