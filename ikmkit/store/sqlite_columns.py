"""Collections with columns in the SQLite adapter (``Columns``): the table holds the declared
fields as real columns beside ``doc`` (the JSON of the other fields), so writing one of them
is an ``UPDATE`` of a column (no JSON parsed, none rebuilt) and its indexes are plain, partial
ones: an index holds only the rows its condition names (the outbox: its pending rows), so
rows outside it cost no index entry at all. Filters name columns instead of ``json_extract``
(``column``), and a boolean filter value is a literal in the SQL (``sqlite_sql.where_sql``),
which is what lets SQLite use a partial index for it.

A database whose table still holds the collection as JSON documents (the layout before) is
migrated in place when the store opens, in one transaction: same documents, same ids and
versions.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from ikmkit.store.port import CollectionSpec, Columns, Document, StoreError
from ikmkit.store.sqlite_sql import NAME, Guarded, checked, dumps, field_sql, table_name

log = logging.getLogger("ikmkit.store.sqlite")

_PLAIN = frozenset({str, int, float, bool, type(None)})


class ColumnTable:
    """One collection kept as columns and a document: its DDL, its writes, how it is read."""

    key = ("id",)

    def __init__(self, name: str, columns: Columns) -> None:
        self.name = name
        self.table = table_name(name)
        self.fields = tuple(columns.fields)
        self.flags = frozenset(columns.flags)
        self.indexes = columns.indexes
        for f in self.fields:
            if not NAME.match(f) or f in ("id", "version", "doc"):
                raise StoreError(f"{name}: {f!r} cannot be a column")
        if not self.flags <= set(self.fields):
            raise StoreError(f"{name}: a flag must be one of the columns")
        self._set = frozenset(self.fields)
        self._quoted = {f: f'"{f}"' for f in self.fields}
        self.select = "version, doc, " + ", ".join(self._quoted.values())
        names = ", ".join(self._quoted.values())
        marks = ", ".join("?" * (len(self.fields) + 3))
        self._insert = f"INSERT INTO {self.table} (id, version, doc, {names}) VALUES ({marks})"
        self._loaded = tuple((f, f in self.flags) for f in self.fields)

    def column(self, path: str) -> str:
        quoted = self._quoted.get(path)
        return quoted if quoted is not None else field_sql(path)

    def load(self, row: Sequence[Any]) -> Document:
        doc: Document = json.loads(row[1])
        doc["version"] = row[0]
        for (f, flag), value in zip(self._loaded, row[2:], strict=True):
            if value is not None:
                doc[f] = bool(value) if flag else value
        return doc

    def _values(self, fields: Sequence[str], values: list[Any]) -> list[Any]:
        """``values`` as columns take them: plain (a subclass, e.g. a ``StrEnum``, as its
        base type, which is what the document's JSON held); ``StoreError`` for any other."""
        if _PLAIN.issuperset(map(type, values)):
            return values  # the usual case, checked in C
        return [_plain(self.name, f, v) for f, v in zip(fields, values, strict=True)]

    def row(self, doc: Document, version: int) -> list[Any]:
        """The parameters of the table's ``INSERT`` for ``doc`` (``version``)."""
        rest = {k: v for k, v in doc.items() if k not in self._set and k != "version"}
        values = self._values(self.fields, [doc.get(f) for f in self.fields])
        return [doc["id"], version, dumps(rest), *values]

    def insert(self, conn: Guarded, docs: Sequence[Document]) -> None:
        conn.executemany(self._insert, [self.row(d, 1) for d in docs])

    def replace_sql(self) -> str:
        sets = ", ".join(f"{q} = ?" for q in self._quoted.values())
        return f"UPDATE {self.table} SET version = ?, doc = ?, {sets} WHERE id = ? AND version = ?"

    def replace_row(self, doc: Document) -> list[Any]:
        expected = int(doc["version"])
        _, version, text, *values = self.row(doc, expected + 1)
        return [version, text, *values, doc["id"], expected]

    def patch_sql(self, shape: Sequence[str]) -> str:
        """The ``UPDATE`` that sets ``shape``'s fields (parameters: their values, then the id
        or ids): columns directly, the others in the document."""
        sets = ["version = version + 1"]
        sets += [f"{self._quoted[f]} = ?" for f in shape if f in self._set]
        in_doc = [checked(f) for f in shape if f not in self._set]
        if in_doc:
            setters = ", ".join(f"'$.{f}', json(?)" for f in in_doc)
            sets.append(f"doc = json_set(doc, {setters})")
        return f"UPDATE {self.table} SET {', '.join(sets)} WHERE id"

    def patch_values(self, fields: Mapping[str, Any]) -> list[Any]:
        """``fields``' values in ``patch_sql``'s order."""
        names = [f for f in fields if f in self._set]
        columns = self._values(names, [fields[f] for f in names])
        return columns + [json.dumps(v) for f, v in fields.items() if f not in self._set]

    def patch_each(self, conn: Guarded, patches: Mapping[str, Mapping[str, Any]]) -> int:
        by_shape: dict[tuple[str, ...], list[list[Any]]] = {}
        for doc_id, fields in patches.items():
            by_shape.setdefault(tuple(fields), []).append([*self.patch_values(fields), doc_id])
        total = 0
        for shape, rows in by_shape.items():
            total += conn.executemany(f"{self.patch_sql(shape)} = ?", rows).rowcount
        return total

    def patch_many(self, conn: Guarded, ids: Sequence[str], fields: Mapping[str, Any]) -> int:
        values = self.patch_values(fields)
        sql = self.patch_sql(list(fields))
        total = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            total += conn.execute(f"{sql} IN ({marks})", [*values, *chunk]).rowcount
        return total

    def create(self, conn: sqlite3.Connection, spec: CollectionSpec) -> None:
        """The table and its indexes; a table of JSON documents (the layout before) migrated."""
        existing = self._layout(conn)
        if not existing:
            conn.execute(self._ddl(self.table))
        elif set(existing) != {"id", "version", "doc", *self.fields}:
            if set(existing) != {"id", "version", "doc"}:
                raise StoreError(f"{self.name}: the table's columns are not {self.fields}")
            self._migrate(conn)
        for fields, where in self.indexes:
            self._index(conn, fields, where)
        for fields in spec.unique:
            self._index(conn, fields, {}, unique=True)

    def _layout(self, conn: sqlite3.Connection) -> set[str]:
        return {r[1] for r in conn.execute(f"PRAGMA table_info({self.table})")}

    def _ddl(self, table: str) -> str:
        cols = "".join(f", {q}" for q in self._quoted.values())
        # doc last: a column is read without walking the document's overflow pages
        key = "id TEXT PRIMARY KEY, version INTEGER NOT NULL"
        return f"CREATE TABLE IF NOT EXISTS {table} ({key}{cols}, doc TEXT NOT NULL)"

    def _index(
        self,
        conn: sqlite3.Connection,
        fields: Sequence[str],
        where: Mapping[str, bool | None],
        *,
        unique: bool = False,
    ) -> None:
        terms = [f"{self.column(f)} {_condition(v)}" for f, v in where.items()]
        label = "_".join([*fields, "where", *where]) if where else "_".join(fields)
        name = f"ix_{self.name}_{label.replace('.', '_')}"
        cols = ", ".join(self.column(f) for f in fields)
        partial = f" WHERE {' AND '.join(terms)}" if terms else ""
        kind = "UNIQUE INDEX" if unique else "INDEX"
        conn.execute(f'CREATE {kind} IF NOT EXISTS "{name}" ON {self.table} ({cols}){partial}')

    def _migrate(self, conn: sqlite3.Connection) -> None:
        """JSON documents to columns, in one transaction: the old table (and its expression
        indexes) replaced by the new one holding the same documents."""
        new = table_name(f"{self.name}__columns")
        paths = ", ".join(f"'$.{f}'" for f in ("version", *self.fields))
        extracted = "".join(f", json_extract(doc, '$.{f}')" for f in self.fields)
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Looked at again under the write lock: another process opening the same file may
            # have migrated it since (its documents no longer hold the columns' fields).
            if self._layout(conn) != {"id", "version", "doc"}:
                conn.execute("ROLLBACK")
                return
            conn.execute(f"DROP TABLE IF EXISTS {new}")
            conn.execute(self._ddl(new))
            names = "".join(f", {q}" for q in self._quoted.values())
            moved = conn.execute(
                f"INSERT INTO {new} (id, version, doc{names}) SELECT id, version,"
                f" json_remove(doc, {paths}){extracted} FROM {self.table}"
            ).rowcount
            self._move_exactly(conn, new)
            conn.execute(f"DROP TABLE {self.table}")
            conn.execute(f"ALTER TABLE {new} RENAME TO {self.table}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("%s: %d documents moved to the column layout", self.name, moved)

    def _move_exactly(self, conn: sqlite3.Connection, new: str) -> None:
        """The rows whose JSON holds an escaped U+0000, moved again from their document read
        in Python: ``json_extract`` ends a text at that character (a false match, an escaped
        backslash before ``u0000``, is only moved twice)."""
        sets = ", ".join(f"{q} = ?" for q in self._quoted.values())
        found = conn.execute(
            f"SELECT id, version, doc FROM {self.table} WHERE instr(doc, '\\u0000')"
        ).fetchall()
        for doc_id, version, text in found:
            _, _, rest, *values = self.row({**json.loads(text), "id": doc_id}, version)
            conn.execute(f"UPDATE {new} SET doc = ?, {sets} WHERE id = ?", [rest, *values, doc_id])


def _plain(collection: str, f: str, value: Any) -> Any:
    if isinstance(value, str):
        return str.__str__(value)  # the text itself, also of a (str, Enum) member
    for kind in (bool, int, float):
        if isinstance(value, kind):
            return kind(value)
    if value is None:
        return None
    raise StoreError(f"{collection}: {f} is a column and takes no {type(value).__name__}")


def _condition(value: bool | None) -> str:
    if value is None:
        return "IS NULL"
    return f"= {int(value)}"
