"""A unit of work on the SQLite store (``SqliteStore.transaction``): the store port's reads
and writes as SQL on the writer connection, by each collection's shape (JSON documents,
counter columns, or columns beside the document)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from ikmkit.store.keyset import decode_cursor, encode_cursor, field_value, full_order
from ikmkit.store.port import (
    CollectionSpec,
    Document,
    DuplicateKey,
    Filter,
    GroupRow,
    OrderBy,
    Page,
    StoreError,
    VersionConflict,
)
from ikmkit.store.sqlite_columns import ColumnTable
from ikmkit.store.sqlite_counters import DOCUMENTS, CounterTable, DocumentTable
from ikmkit.store.sqlite_sql import (
    Guarded,
    add_count_sql,
    checked,
    dumps,
    field_sql,
    keyset_sql,
    number,
    table_name,
    where_sql,
)


class SqliteTransaction:
    def __init__(
        self,
        conn: sqlite3.Connection,
        specs: Mapping[str, CollectionSpec],
        counters: Mapping[str, CounterTable],
        columned: Mapping[str, ColumnTable] | None = None,
    ) -> None:
        self._conn = Guarded(conn)
        self._specs = specs
        self._counters = counters
        self._columned = columned or {}

    def _spec(self, collection: str) -> CollectionSpec:
        try:
            return self._specs[collection]
        except KeyError:
            raise StoreError(f"unknown collection {collection!r}; declare it at open()") from None

    def _shape(self, collection: str) -> DocumentTable | CounterTable | ColumnTable:
        """How the collection is read: JSON documents, a counter collection's columns, or
        columns beside the document (``Columns``)."""
        self._spec(collection)
        counters = self._counters.get(collection)
        return counters if counters is not None else self._columned.get(collection, DOCUMENTS)

    def _documents(self, collection: str) -> None:
        """Writes a counter collection does not take (``Counters``)."""
        if self._spec(collection).counter is not None:
            raise StoreError(f"{collection} is a counter collection: add_counts writes it")

    async def get(self, collection: str, doc_id: str) -> Document | None:
        shape = self._shape(collection)
        row = self._conn.execute(
            f"SELECT {shape.select} FROM {table_name(collection)} WHERE {shape.column('id')} = ?",
            (doc_id,),
        ).fetchone()
        return None if row is None else shape.load(row)

    async def get_many(self, collection: str, doc_ids: Sequence[str]) -> dict[str, Document]:
        shape = self._shape(collection)
        found: dict[str, Document] = {}
        ids = list(doc_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT {shape.select} FROM {table_name(collection)}"
                f" WHERE {shape.column('id')} IN ({marks})",
                chunk,
            ).fetchall()
            found.update((doc["id"], doc) for doc in map(shape.load, rows))
        return found

    def _duplicate(
        self, collection: str, doc: Document, exc: sqlite3.IntegrityError
    ) -> DuplicateKey:
        spec = self._spec(collection)
        if self._conn.execute(
            f"SELECT 1 FROM {table_name(collection)} WHERE id = ?", (doc["id"],)
        ).fetchone():
            return DuplicateKey(collection, ("id",), str(doc["id"]))
        column = self._shape(collection).column
        for fields in spec.unique:
            clause, params = where_sql({f: field_value(doc, f) for f in fields}, column)
            row = self._conn.execute(
                f"SELECT id FROM {table_name(collection)}{clause}", params
            ).fetchone()
            if row is not None:
                return DuplicateKey(collection, fields, row[0])
        return DuplicateKey(collection, ("?",), None)

    async def insert(self, collection: str, doc: Document) -> Document:
        if (counters := self._counters.get(collection)) is not None:
            counters.insert(self._conn, [doc])
            return {"id": counters.counters.id_of(doc), **doc, "version": 1}
        self._spec(collection)
        stored = {**doc, "version": 1}
        try:
            if (table := self._columned.get(collection)) is not None:
                table.insert(self._conn, [doc])
                return stored
            self._conn.execute(
                f"INSERT INTO {table_name(collection)} (id, version, doc) VALUES (?, 1, ?)",
                (stored["id"], dumps(stored)),
            )
        except sqlite3.IntegrityError as exc:
            raise self._duplicate(collection, stored, exc) from exc
        return stored

    async def insert_many(self, collection: str, docs: Sequence[Document]) -> None:
        if (counters := self._counters.get(collection)) is not None:
            return counters.insert(self._conn, docs)
        self._spec(collection)
        try:
            if (table := self._columned.get(collection)) is not None:
                return table.insert(self._conn, docs)
            rows = [(d["id"], dumps({**d, "version": 1})) for d in docs]
            self._conn.executemany(
                f"INSERT INTO {table_name(collection)} (id, version, doc) VALUES (?, 1, ?)", rows
            )
        except sqlite3.IntegrityError as exc:
            for doc in docs:
                dup = self._duplicate(collection, doc, exc)
                if dup.existing_id is not None:
                    raise dup from exc
            raise DuplicateKey(collection, ("?",), None) from exc

    async def replace(self, collection: str, doc: Document) -> Document:
        self._documents(collection)
        expected = int(doc["version"])
        stored = {**doc, "version": expected + 1}
        try:
            if (table := self._columned.get(collection)) is not None:
                cur = self._conn.execute(table.replace_sql(), table.replace_row(doc))
            else:
                cur = self._conn.execute(
                    f"UPDATE {table_name(collection)} SET version = ?, doc = ?"
                    " WHERE id = ? AND version = ?",
                    (expected + 1, dumps(stored), doc["id"], expected),
                )
        except sqlite3.IntegrityError as exc:
            raise self._duplicate(collection, stored, exc) from exc
        if cur.rowcount != 1:
            raise VersionConflict(collection, str(doc["id"]), expected)
        return stored

    async def replace_many(self, collection: str, docs: Sequence[Document]) -> None:
        self._documents(collection)
        if collection in self._columned:  # rare on such a collection: one statement each
            for doc in docs:
                await self.replace(collection, doc)
            return
        if not docs:
            return
        rows = []
        for doc in docs:
            expected = int(doc["version"])
            rows.append(
                (expected + 1, dumps({**doc, "version": expected + 1}), doc["id"], expected)
            )
        try:
            cur = self._conn.executemany(
                f"UPDATE {table_name(collection)} SET version = ?, doc = ?"
                " WHERE id = ? AND version = ?",
                rows,
            )
        except sqlite3.IntegrityError as exc:
            raise self._unique_clash(collection, docs) from exc
        if cur.rowcount != len(rows):
            raise self._conflict(collection, rows)

    def _unique_clash(self, collection: str, docs: Sequence[Document]) -> DuplicateKey:
        """The unique key one of ``docs`` would share with another document."""
        column = self._shape(collection).column
        for doc in docs:
            for fields in self._spec(collection).unique:
                clause, params = where_sql({f: field_value(doc, f) for f in fields}, column)
                row = self._conn.execute(
                    f"SELECT id FROM {table_name(collection)}{clause} AND id != ?",
                    [*params, doc["id"]],
                ).fetchone()
                if row is not None:
                    return DuplicateKey(collection, fields, row[0])
        return DuplicateKey(collection, ("?",), None)

    def _conflict(self, collection: str, rows: Sequence[tuple[Any, ...]]) -> VersionConflict:
        """The first document ``replace_many`` did not write (its version was not the one
        expected): whatever is stored under its id is not what this statement wrote."""
        for version, text, doc_id, expected in rows:
            stored = self._conn.execute(
                f"SELECT version, doc FROM {table_name(collection)} WHERE id = ?", (doc_id,)
            ).fetchone()
            if stored is None or tuple(stored) != (version, text):
                return VersionConflict(collection, str(doc_id), expected)
        return VersionConflict(collection, str(rows[0][2]), rows[0][3])

    async def patch_many(
        self, collection: str, doc_ids: Sequence[str], fields: Mapping[str, Any]
    ) -> int:
        self._documents(collection)
        ids = list(doc_ids)
        if not ids:
            return 0
        if (table := self._columned.get(collection)) is not None:
            return table.patch_many(self._conn, ids, fields)
        setters = ", ".join(f"'$.{checked(f)}', json(?)" for f in fields)
        values = [json.dumps(v) for v in fields.values()]
        total = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cur = self._conn.execute(
                f"UPDATE {table_name(collection)} SET version = version + 1, "
                f"doc = json_set(json_set(doc, {setters}), '$.version', version + 1) "
                f"WHERE id IN ({','.join('?' * len(chunk))})",
                [*values, *chunk],
            )
            total += cur.rowcount
        return total

    async def patch_each(self, collection: str, patches: Mapping[str, Mapping[str, Any]]) -> int:
        self._documents(collection)
        if (table := self._columned.get(collection)) is not None:
            return table.patch_each(self._conn, patches)
        total = 0
        by_shape: dict[tuple[str, ...], list[list[Any]]] = {}
        for doc_id, fields in patches.items():
            params = [json.dumps(v) for v in fields.values()]
            by_shape.setdefault(tuple(fields), []).append([*params, doc_id])
        for shape, rows in by_shape.items():
            setters = ", ".join(f"'$.{checked(f)}', json(?)" for f in shape)
            cur = self._conn.executemany(
                f"UPDATE {table_name(collection)} SET version = version + 1, "
                f"doc = json_set(json_set(doc, {setters}), '$.version', version + 1) "
                "WHERE id = ?",
                rows,
            )
            total += cur.rowcount
        return total

    async def add_count_rows(self, collection: str, rows: Sequence[Sequence[Any]]) -> None:
        if (counters := self._counters.get(collection)) is None:
            raise StoreError(f"{collection} is not a counter collection")
        counters.add_rows(self._conn, rows)

    async def add_counts(
        self, collection: str, field: str, counts: Sequence[tuple[Document, int]]
    ) -> None:
        if (counters := self._counters.get(collection)) is not None:
            return counters.add(self._conn, field, counts)
        if collection in self._columned:
            raise StoreError(f"{collection} keeps columns: it holds no counters")
        self._spec(collection)
        rows = [(d["id"], dumps({**d, field: n, "version": 1}), n) for d, n in counts if n]
        if not rows:
            return
        table = table_name(collection)
        try:
            self._conn.executemany(add_count_sql(table, field), rows)
        except sqlite3.IntegrityError as exc:
            raise self._unique_clash(collection, [d for d, _ in counts]) from exc
        # only an updated counter (version > 1) can have come back to 0
        ids = [row[0] for row in rows]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            self._conn.execute(
                f"DELETE FROM {table} WHERE id IN ({','.join('?' * len(chunk))})"
                f" AND version > 1 AND {field_sql(field)} = 0",
                chunk,
            )

    async def delete(self, collection: str, doc_id: str) -> bool:
        key = self._shape(collection).column("id")
        cur = self._conn.execute(f"DELETE FROM {table_name(collection)} WHERE {key} = ?", (doc_id,))
        return cur.rowcount == 1

    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        order_by: OrderBy = (),
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        shape = self._shape(collection)
        order = full_order(order_by, shape.key)
        clause, params = where_sql(where, shape.column)
        if cursor:
            keyset, keyset_params = keyset_sql(
                order, decode_cursor(cursor, order, collection), shape.column
            )
            clause = f"{clause} AND {keyset}" if clause else f" WHERE {keyset}"
            params.extend(keyset_params)
        order_sql = ", ".join(f"{shape.column(f)} {'ASC' if d == 1 else 'DESC'}" for f, d in order)
        rows = self._conn.execute(
            f"SELECT {shape.select} FROM {table_name(collection)}{clause}"
            f" ORDER BY {order_sql} LIMIT ?",
            [*params, limit + 1],
        ).fetchall()
        items = [shape.load(r) for r in rows[:limit]]
        next_cursor = encode_cursor(items[-1], order, collection) if len(rows) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    async def count(self, collection: str, where: Filter | None = None) -> int:
        clause, params = where_sql(where, self._shape(collection).column)
        row = self._conn.execute(f"SELECT COUNT(*) FROM {table_name(collection)}{clause}", params)
        return int(row.fetchone()[0])

    async def group(
        self,
        collection: str,
        by: Sequence[str],
        where: Filter | None = None,
        *,
        sums: Sequence[str] = (),
    ) -> list[GroupRow]:
        column = self._shape(collection).column
        clause, params = where_sql(where, column)
        keys = [column(f) for f in by]
        select = [*keys, "COUNT(*)", *(f"TOTAL({column(s)})" for s in sums)]
        group_sql = f" GROUP BY {', '.join(keys)}" if keys else ""
        rows = self._conn.execute(
            f"SELECT {', '.join(select)} FROM {table_name(collection)}{clause}{group_sql}", params
        ).fetchall()
        result: list[GroupRow] = []
        for row in rows:
            key = dict(zip(by, row[: len(by)], strict=True))
            totals = {s: number(v) for s, v in zip(sums, row[len(by) + 1 :], strict=True)}
            result.append(GroupRow(key=key, count=int(row[len(by)]), sums=totals))
        return result
