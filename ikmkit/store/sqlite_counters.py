"""Counter collections in the SQLite adapter (``Counters``): a table of real columns, one per
counter field, plus ``value`` and ``version``, ``WITHOUT ROWID`` with the fields (in the
counters' ``order``) as primary key. Adding a delta is one ``INSERT … ON CONFLICT DO UPDATE
SET value = value + excluded.value`` per counter (no JSON to parse or rebuild, no expression
index to recompute), and an ``AFTER UPDATE`` trigger deletes a counter its update set to 0,
so no second pass probes the written keys. Reads name columns instead of ``json_extract``
(``column``) and see the documents the port defines (``load``); the id is derived from the
fields (``Counters.id_of``), not stored.

A database whose table still holds the collection as JSON documents (the layout before
counter collections) is migrated in place when the store opens: same documents, same ids.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from operator import itemgetter
from typing import Any

from ikmkit.store.port import CollectionSpec, Counters, Document, DuplicateKey, StoreError
from ikmkit.store.sqlite_sql import NAME, field_sql, load, table_name, where_sql

log = logging.getLogger("ikmkit.store.sqlite")


class DocumentTable:
    """How a collection of JSON documents (the usual layout) is read."""

    select = "doc"
    key = ("id",)

    @staticmethod
    def column(path: str) -> str:
        return field_sql(path)

    @staticmethod
    def load(row: Sequence[Any]) -> Document:
        return load(row[0])

    @staticmethod
    def create(conn: sqlite3.Connection, spec: CollectionSpec) -> None:
        """The collection's table and its indexes (one expression index per field set)."""
        table = table_name(spec.name)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} "
            "(id TEXT PRIMARY KEY, version INTEGER NOT NULL, doc TEXT NOT NULL)"
        )
        for kind, field_sets in (("UNIQUE INDEX", spec.unique), ("INDEX", spec.indexes)):
            for fields in field_sets:
                name = f"ix_{spec.name}_{'_'.join(f.replace('.', '_') for f in fields)}"
                cols = ", ".join(field_sql(f) for f in fields)
                conn.execute(f'CREATE {kind} IF NOT EXISTS "{name}" ON {table} ({cols})')


DOCUMENTS = DocumentTable()


class CounterTable:
    """One counter collection's table: its DDL, its writes, and how it is read."""

    def __init__(self, name: str, counters: Counters) -> None:
        self.name = name
        self.table = table_name(name)
        self.counters = counters
        self.key = tuple(counters.key)
        fields = tuple(counters.fields)
        for f in (*fields, counters.value):
            if not NAME.match(f) or f in ("id", "version", "doc"):
                raise StoreError(f"{name}: {f!r} cannot be a counter field")
        if set(counters.key) != set(fields) or counters.value in fields:
            raise StoreError(f"{name}: the counters' order must name each field once")
        self._columns = {f: f'"{f}"' for f in (*fields, counters.value)} | {"version": "version"}
        self.id_sql = " || '|' || ".join(_id_part_sql(self._columns[f]) for f in fields)
        self._columns["id"] = f"({self.id_sql})"
        stored = (*fields, counters.value)
        self.select = f"{self.id_sql}, {', '.join(self._columns[f] for f in stored)}, version"
        self._names = ("id", *stored, "version")
        self._values = _getter(fields)
        self._allowed = frozenset((*fields, counters.value, "version"))
        marks = ", ".join("?" * (len(fields) + 1))
        value = self._columns[counters.value]
        self.upsert = (
            f"INSERT INTO {self.table} ({', '.join(self._columns[f] for f in stored)}, version)"
            f" VALUES ({marks}, 1) ON CONFLICT DO UPDATE"
            f" SET {value} = {value} + excluded.{value}, version = version + 1"
        )

    def column(self, path: str) -> str:
        try:
            return self._columns[path]
        except KeyError:
            raise StoreError(f"{self.name}: {path!r} is not a field of its counters") from None

    def load(self, row: Sequence[Any]) -> Document:
        return dict(zip(self._names, row, strict=True))

    def _key_match(self, prefix: str) -> str:
        return " AND ".join(f"{c} = {prefix}{c}" for c in map(self.column, self.counters.key))

    @classmethod
    def created(
        cls, conn: sqlite3.Connection, spec: CollectionSpec, counters: Counters
    ) -> CounterTable:
        """The collection's table, trigger and indexes, created (or migrated) if need be."""
        table = cls(spec.name, counters)
        table.create(conn)
        table.delete_dropped(conn)
        for kind, field_sets in (("UNIQUE INDEX", spec.unique), ("INDEX", spec.indexes)):
            for fields in field_sets:
                table.create_index(conn, kind, fields)
        return table

    def create(self, conn: sqlite3.Connection) -> None:
        """The table, its trigger and its indexes; an old JSON table is migrated first."""
        if "doc" in self._layout(conn):
            self._migrate(conn)
            return
        self._create(conn)

    def _layout(self, conn: sqlite3.Connection) -> list[str]:
        return [row[1] for row in conn.execute(f"PRAGMA table_info({self.table})")]

    def _create(self, conn: sqlite3.Connection) -> None:
        value = self.column(self.counters.value)
        fields = ", ".join(f"{self.column(f)} NOT NULL" for f in self.counters.fields)
        key = ", ".join(map(self.column, self.counters.key))
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} ({fields}, {value} NOT NULL,"
            f" version INTEGER NOT NULL, PRIMARY KEY ({key})) WITHOUT ROWID"
        )
        # A counter is deleted by the very statement that set it to 0 (an upsert's update).
        conn.execute(
            f'CREATE TRIGGER IF NOT EXISTS "zero_{self.name}" AFTER UPDATE OF {value}'
            f" ON {self.table} WHEN NEW.{value} = 0"
            f" BEGIN DELETE FROM {self.table} WHERE {self._key_match('NEW.')}; END"
        )

    def delete_dropped(self, conn: sqlite3.Connection) -> None:
        """The counters ``Counters.dropped`` names, deleted (one key range each: no-op once
        gone)."""
        for dropped in self.counters.dropped:
            where, params = where_sql(dropped, self.column)
            if not where:
                raise StoreError(f"{self.name}: a dropped filter must name counters")
            # Looked for first: a tool opening a live store (``ikm audit``) takes no write lock.
            if conn.execute(f"SELECT 1 FROM {self.table}{where} LIMIT 1", params).fetchone():
                gone = conn.execute(f"DELETE FROM {self.table}{where}", params).rowcount
                log.warning("%s: %d counters no longer written deleted", self.name, gone)

    def create_index(self, conn: sqlite3.Connection, kind: str, fields: Sequence[str]) -> None:
        name = f"ix_{self.name}_{'_'.join(fields)}"
        cols = ", ".join(map(self.column, fields))
        conn.execute(f'CREATE {kind} IF NOT EXISTS "{name}" ON {self.table} ({cols})')

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """The JSON documents moved into the counter layout, in one transaction."""
        old = table_name(f"{self.name}_documents")
        stored = (*self.counters.fields, self.counters.value)
        extract = ", ".join(f"json_extract(doc, '$.{f}')" for f in stored)
        conn.execute("BEGIN IMMEDIATE")
        if "doc" not in self._layout(conn):  # another process opening the file migrated it
            conn.execute("ROLLBACK")
            return
        try:
            conn.execute(f"ALTER TABLE {self.table} RENAME TO {old}")
            self._create(conn)
            conn.execute(
                f"INSERT INTO {self.table} ({', '.join(map(self.column, stored))}, version)"
                f" SELECT {extract}, version FROM {old}"
            )
            moved = conn.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0]
            conn.execute(f"DROP TABLE {old}")  # and its expression indexes
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            raise StoreError(
                f"{self.name}: its documents could not be moved into the counter layout ({exc});"
                " start from an empty store and rebuild it from the log"
            ) from exc
        conn.execute("COMMIT")
        log.warning("%s: %d counters moved from JSON documents to columns", self.name, moved)

    def add(self, conn: Any, field: str, counts: Sequence[tuple[Document, int]]) -> None:
        """``Transaction.add_counts`` (``conn``: the guarded connection)."""
        if field != self.counters.value:
            raise StoreError(
                f"{self.name}: its counters hold {self.counters.value!r}, not {field!r}"
            )
        values = self._values
        rows = [(*values(doc), n) for doc, n in counts if n]
        if not rows:
            return
        try:
            conn.executemany(self.upsert, rows)
        except sqlite3.IntegrityError as exc:  # a field null (NOT NULL)
            raise StoreError(f"{self.name}: a counter needs each of its fields ({exc})") from exc

    def add_rows(self, conn: Any, rows: Sequence[Sequence[Any]]) -> None:
        """``Transaction.add_count_rows``: the rows are the upsert's parameters as they are."""
        try:
            conn.executemany(self.upsert, [row for row in rows if row[-1]])
        except sqlite3.IntegrityError as exc:  # a field null (NOT NULL)
            raise StoreError(f"{self.name}: a counter needs each of its fields ({exc})") from exc
        except sqlite3.ProgrammingError as exc:  # a row of another width
            width = len(self.counters.fields)
            raise StoreError(f"{self.name}: a row is its {width} fields and a delta") from exc

    def insert(self, conn: Any, docs: Sequence[Document]) -> None:
        """``insert``/``insert_many``: each document as a new counter (version 1)."""
        rows = [self._row(doc) for doc in docs]
        fields = (*self.counters.fields, self.counters.value)
        marks = ", ".join("?" * len(fields))
        try:
            conn.executemany(
                f"INSERT INTO {self.table} ({', '.join(map(self.column, fields))}, version)"
                f" VALUES ({marks}, 1)",
                rows,
            )
        except sqlite3.IntegrityError as exc:
            raise self._clash(conn, docs) from exc

    def _row(self, doc: Document) -> tuple[Any, ...]:
        """A counter to insert as its row: ``Counters.checked``'s refusals, cheaper (a null
        field is left to the columns' NOT NULL; the id is derived only if the document has
        one to compare)."""
        if "id" in doc or not self._allowed.issuperset(doc):
            self.counters.checked(self.name, doc)
        try:
            return (*self._values(doc), doc[self.counters.value])
        except KeyError:
            self.counters.checked(self.name, doc)
            raise StoreError(f"{self.name}: {self.counters.value!r} missing") from None

    def _clash(self, conn: Any, docs: Sequence[Document]) -> StoreError:
        for doc in docs:
            where = " AND ".join(f"{self.column(f)} = ?" for f in self.counters.fields)
            params = [doc[f] for f in self.counters.fields]
            if conn.execute(f"SELECT 1 FROM {self.table} WHERE {where}", params).fetchone():
                return DuplicateKey(self.name, ("id",), self.counters.id_of(doc))
        return StoreError(f"{self.name}: a counter could not be inserted (a null field?)")


def _getter(fields: Sequence[str]) -> Any:
    """A document's values of ``fields``, as a tuple (``itemgetter`` of one field is not)."""
    if len(fields) == 1:
        only = fields[0]
        return lambda doc: (doc[only],)
    return itemgetter(*fields)


def _id_part_sql(column: str) -> str:
    """``Counters.id_of``'s ``id_part`` in SQL: the value, its backslashes and bars escaped
    (tested first: most values have neither, and ``replace`` costs more than ``instr``)."""
    escaped = f"replace(replace({column}, '\\', '\\\\'), '|', '\\|')"
    test = f"instr({column}, '|') OR instr({column}, '\\')"
    return f"(CASE WHEN {test} THEN {escaped} ELSE {column} END)"
