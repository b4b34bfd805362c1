"""A unit of work on the MongoDB store (``MongoStore.transaction``): the store port's
reads and writes on a session (inside its multi-document transaction when there is one)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from functools import wraps
from typing import Any

from bson.errors import InvalidStringData
from pymongo import ReplaceOne, UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from ikmkit.store.keyset import decode_cursor, encode_cursor, field_value, full_order
from ikmkit.store.mongo_counters import counter_update, row_counts
from ikmkit.store.mongo_query import Raw, from_raw, keyset_query, mongo_path, mongo_query, to_raw
from ikmkit.store.port import (
    ENCODING_ERRORS,
    CollectionSpec,
    Document,
    DuplicateKey,
    Filter,
    GroupRow,
    OrderBy,
    Page,
    StoreError,
    VersionConflict,
    unstorable,
)

_UNSTORABLE: tuple[type[Exception], ...] = (*ENCODING_ERRORS, InvalidStringData)


def _guarded[**P, T](
    operation: Callable[P, Coroutine[Any, Any, T]],
) -> Callable[P, Coroutine[Any, Any, T]]:
    """A value BSON cannot encode (a lone surrogate, an int beyond 64 bits) is the caller's
    error: ``UnstorableValue``, as in every adapter, not a driver exception."""

    @wraps(operation)
    async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await operation(*args, **kwargs)
        except _UNSTORABLE as exc:
            raise unstorable(exc) from exc

    return guarded


class MongoTransaction:
    def __init__(
        self,
        db: AsyncDatabase[Raw],
        session: AsyncClientSession | None,
        specs: dict[str, CollectionSpec],
    ) -> None:
        self._db = db
        self._session = session
        self._specs = specs

    def _coll(self, collection: str) -> Any:
        if collection not in self._specs:
            raise StoreError(f"unknown collection {collection!r}; declare it at open()")
        return self._db[collection]

    async def _duplicate(self, collection: str, doc: Document) -> DuplicateKey:
        coll = self._coll(collection)
        if await coll.find_one({"_id": doc["id"]}, {"_id": 1}, session=self._session):
            return DuplicateKey(collection, ("id",), str(doc["id"]))
        for fields in self._specs[collection].unique:
            found = await coll.find_one(
                {f: field_value(doc, f) for f in fields}, {"_id": 1}, session=self._session
            )
            if found is not None:
                return DuplicateKey(collection, fields, str(found["_id"]))
        return DuplicateKey(collection, ("?",), None)

    @_guarded
    async def get(self, collection: str, doc_id: str) -> Document | None:
        raw = await self._coll(collection).find_one({"_id": doc_id}, session=self._session)
        return None if raw is None else from_raw(raw)

    @_guarded
    async def get_many(self, collection: str, doc_ids: Sequence[str]) -> dict[str, Document]:
        cursor = self._coll(collection).find({"_id": {"$in": list(doc_ids)}}, session=self._session)
        return {str(raw["_id"]): from_raw(raw) async for raw in cursor}

    def _identified(self, collection: str, docs: Sequence[Document]) -> Sequence[Document]:
        """``docs``, or, in a counter collection, each checked and with its id."""
        spec = self._specs.get(collection)
        counters = None if spec is None else spec.counter
        if counters is None:
            return docs
        return [{"id": counters.checked(collection, doc), **doc} for doc in docs]

    @_guarded
    async def insert(self, collection: str, doc: Document) -> Document:
        (doc,) = self._identified(collection, [doc])
        stored = {**doc, "version": 1}
        try:
            await self._coll(collection).insert_one(to_raw(stored), session=self._session)
        except DuplicateKeyError as exc:
            raise await self._duplicate_outside(collection, stored) from exc
        return stored

    async def _duplicate_outside(self, collection: str, doc: Document) -> DuplicateKey:
        # The failed write aborted the transaction; look the clash up without it.
        probe = MongoTransaction(self._db, None, self._specs)
        return await probe._duplicate(collection, doc)

    @_guarded
    async def insert_many(self, collection: str, docs: Sequence[Document]) -> None:
        if not docs:
            return
        docs = self._identified(collection, docs)
        raws = [to_raw({**d, "version": 1}) for d in docs]
        try:
            await self._coll(collection).insert_many(raws, ordered=True, session=self._session)
        except PyMongoError as exc:
            if "E11000" not in str(exc) and not isinstance(exc, DuplicateKeyError):
                raise
            for doc in docs:
                dup = await self._duplicate_outside(collection, doc)
                if dup.existing_id is not None:
                    raise dup from exc
            raise DuplicateKey(collection, ("?",), None) from exc

    @_guarded
    async def replace(self, collection: str, doc: Document) -> Document:
        expected = int(doc["version"])
        stored = {**doc, "version": expected + 1}
        try:
            result = await self._coll(collection).replace_one(
                {"_id": doc["id"], "version": expected}, to_raw(stored), session=self._session
            )
        except DuplicateKeyError as exc:
            raise await self._duplicate_outside(collection, stored) from exc
        if result.matched_count != 1:
            raise VersionConflict(collection, str(doc["id"]), expected)
        return stored

    @_guarded
    async def replace_many(self, collection: str, docs: Sequence[Document]) -> None:
        if not docs:
            return
        raws = [to_raw({**doc, "version": int(doc["version"]) + 1}) for doc in docs]
        operations = [
            ReplaceOne({"_id": doc["id"], "version": int(doc["version"])}, raw)
            for doc, raw in zip(docs, raws, strict=True)
        ]
        try:
            result = await self._coll(collection).bulk_write(
                operations, ordered=True, session=self._session
            )
        except PyMongoError as exc:
            if "E11000" not in str(exc) and not isinstance(exc, DuplicateKeyError):
                raise
            for doc in docs:
                dup = await self._duplicate_outside(collection, doc)
                if dup.existing_id is not None and dup.existing_id != doc["id"]:
                    raise dup from exc
            raise DuplicateKey(collection, ("?",), None) from exc
        if result.matched_count != len(docs):
            # the first document not written: what is stored is not what this wrote
            for doc, raw in zip(docs, raws, strict=True):
                stored = await self._coll(collection).find_one(
                    {"_id": doc["id"]}, session=self._session
                )
                if stored != raw:
                    raise VersionConflict(collection, str(doc["id"]), int(doc["version"]))
            raise VersionConflict(collection, str(docs[0]["id"]), int(docs[0]["version"]))

    @_guarded
    async def patch_many(
        self, collection: str, doc_ids: Sequence[str], fields: Mapping[str, Any]
    ) -> int:
        if not doc_ids:
            return 0
        result = await self._coll(collection).update_many(
            {"_id": {"$in": list(doc_ids)}},
            {"$set": dict(fields), "$inc": {"version": 1}},
            session=self._session,
        )
        return int(result.matched_count)

    @_guarded
    async def patch_each(self, collection: str, patches: Mapping[str, Mapping[str, Any]]) -> int:
        if not patches:
            return 0
        result = await self._coll(collection).bulk_write(
            [
                UpdateOne({"_id": doc_id}, {"$set": dict(fields), "$inc": {"version": 1}})
                for doc_id, fields in patches.items()
            ],
            ordered=False,
            session=self._session,
        )
        return int(result.matched_count)

    async def add_count_rows(self, collection: str, rows: Sequence[Sequence[Any]]) -> None:
        counters = self._specs[collection].counter if collection in self._specs else None
        if counters is None:
            raise StoreError(f"{collection} is not a counter collection")
        await self.add_counts(collection, counters.value, row_counts(collection, counters, rows))

    @_guarded
    async def add_counts(
        self, collection: str, field: str, counts: Sequence[tuple[Document, int]]
    ) -> None:
        coll = self._coll(collection)
        counters = self._specs[collection].counter
        ids = [doc["id"] if counters is None else counters.id_of(doc) for doc, n in counts if n]
        ops = [
            UpdateOne({"_id": doc_id}, counter_update(doc, field, n), upsert=True)
            for doc_id, (doc, n) in zip(ids, [c for c in counts if c[1]], strict=True)
        ]
        if not ops:
            return
        try:
            await coll.bulk_write(ops, ordered=False, session=self._session)
        except PyMongoError as exc:
            if "E11000" not in str(exc) and not isinstance(exc, DuplicateKeyError):
                raise
            raise DuplicateKey(collection, ("?",), None) from exc
        await coll.delete_many({"_id": {"$in": ids}, field: 0}, session=self._session)

    @_guarded
    async def delete(self, collection: str, doc_id: str) -> bool:
        result = await self._coll(collection).delete_one({"_id": doc_id}, session=self._session)
        return bool(result.deleted_count == 1)

    @_guarded
    async def find(
        self,
        collection: str,
        where: Filter | None = None,
        *,
        order_by: OrderBy = (),
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        counters = self._specs[collection].counter if collection in self._specs else None
        order = full_order(order_by, ("id",) if counters is None else counters.key)
        query = mongo_query(where)
        if cursor:
            keyset = keyset_query(order, decode_cursor(cursor, order, collection))
            query = {"$and": [query, keyset]} if query else keyset
        found = self._coll(collection).find(query, session=self._session)
        found = found.sort([(mongo_path(f), d) for f, d in order]).limit(limit + 1)
        raws = [raw async for raw in found]
        items = [from_raw(r) for r in raws[:limit]]
        next_cursor = encode_cursor(items[-1], order, collection) if len(raws) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    @_guarded
    async def count(self, collection: str, where: Filter | None = None) -> int:
        return int(
            await self._coll(collection).count_documents(mongo_query(where), session=self._session)
        )

    @_guarded
    async def group(
        self,
        collection: str,
        by: Sequence[str],
        where: Filter | None = None,
        *,
        sums: Sequence[str] = (),
    ) -> list[GroupRow]:
        group: Raw = {
            "_id": {f"k{i}": f"${mongo_path(f)}" for i, f in enumerate(by)},
            "count": {"$sum": 1},
        }
        for i, path in enumerate(sums):
            group[f"s{i}"] = {"$sum": f"${path}"}
        pipeline = [{"$match": mongo_query(where)}, {"$group": group}]
        rows: list[GroupRow] = []
        cursor = await self._coll(collection).aggregate(pipeline, session=self._session)
        async for raw in cursor:
            key = {f: raw["_id"].get(f"k{i}") for i, f in enumerate(by)}
            totals = {s: raw[f"s{i}"] for i, s in enumerate(sums)}
            rows.append(GroupRow(key=key, count=int(raw["count"]), sums=totals))
        return rows
