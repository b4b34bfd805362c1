"""MongoDB adapter of the store port, over ``pymongo.AsyncMongoClient``.

Each collection is a MongoDB collection whose ``_id`` is the document id.
Units of work are multi-document transactions, which MongoDB only supports on a
replica set or sharded cluster: in production run at least a single-node
replica set (``rs.initiate()``), as the compose file does. A write conflict
between concurrent transactions surfaces as ``TransactionConflict`` so callers
retry the whole use case, exactly as for ``VersionConflict``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError

from ikmkit.store.mongo_migrations import fix_counter_ids, fix_times
from ikmkit.store.mongo_query import Raw, mongo_path, mongo_query
from ikmkit.store.mongo_transaction import MongoTransaction
from ikmkit.store.port import CollectionSpec, StoreError, Transaction, TransactionConflict


def _is_transient(exc: PyMongoError) -> bool:
    if exc.has_error_label("TransientTransactionError"):
        return True
    # WriteConflict (112); some wire servers report it at commit without the code.
    return isinstance(exc, OperationFailure) and (
        exc.code == 112 or "write conflict" in str(exc).lower()
    )


def _discard_server_session(session: AsyncClientSession) -> None:
    """Don't reuse the server session of a transaction that failed to commit.

    Some servers (the mongoeco wire server used in tests) keep the failed
    transaction's state under the session id, poisoning the next transaction
    that reuses it; a dirty server session is dropped instead of pooled.
    """
    server_session = getattr(session, "_server_session", None)
    if server_session is not None and hasattr(server_session, "mark_dirty"):
        server_session.mark_dirty()


class MongoStore:
    """Store port over one MongoDB database (one database per service)."""

    kind = "mongodb"

    def __init__(
        self,
        url: str,
        database: str,
        *,
        use_transactions: bool = True,
        serialize_transactions: bool = False,
    ) -> None:
        """``serialize_transactions``: run this process's transactions one at a time.

        For servers that detect write conflicts against a database-wide version (the
        mongoeco wire server used in tests), where any two overlapping write
        transactions conflict; MongoDB itself only conflicts on the same document.
        """
        self._url = url
        self._database = database
        self._use_transactions = use_transactions
        self._turn = asyncio.Lock() if serialize_transactions else None
        self._client: AsyncMongoClient[Raw] | None = None
        self._specs: dict[str, CollectionSpec] = {}

    async def open(self, collections: Sequence[CollectionSpec]) -> None:
        self._client = AsyncMongoClient(self._url, tz_aware=True, uuidRepresentation="standard")
        db = self._client[self._database]
        existing = set(await db.list_collection_names())
        for spec in collections:
            if spec.name not in existing:
                await db.create_collection(spec.name)
            indexes = list(spec.indexes)
            if spec.counter is not None:  # the reads of counters, answered from the index
                indexes.append([*spec.counter.key, spec.counter.value])
            for unique, field_sets in ((True, spec.unique), (False, indexes)):
                for fields in field_sets:
                    await db[spec.name].create_index(
                        [(mongo_path(f), 1) for f in fields], unique=unique
                    )
            for dropped in spec.counter.dropped if spec.counter is not None else ():
                await db[spec.name].delete_many(mongo_query(dropped))
            await fix_times(db, spec)
            await fix_counter_ids(db, spec, atomic=self._use_transactions)
            self._specs[spec.name] = spec

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def _db(self) -> AsyncDatabase[Raw]:
        if self._client is None:
            raise StoreError("store is not open")
        return self._client[self._database]

    async def ping(self) -> None:
        await self._db().command("ping")

    async def drop(self) -> None:
        """Drop the whole database (tests and scratch stores only)."""
        if self._client is not None:
            await self._client.drop_database(self._database)

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[Transaction]:
        # read_only changes nothing here: MongoDB has no group commit to keep queries out of.
        if self._turn is None:
            async with self._transaction() as uow:
                yield uow
            return
        async with self._turn, self._transaction() as uow:
            yield uow

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Transaction]:
        if self._client is None:
            raise StoreError("store is not open")
        if not self._use_transactions:
            yield MongoTransaction(self._db(), None, self._specs)
            return
        async with self._client.start_session() as session:
            try:
                async with await session.start_transaction():
                    yield MongoTransaction(self._db(), session, self._specs)
            except PyMongoError as exc:
                if _is_transient(exc):
                    _discard_server_session(session)
                    raise TransactionConflict(str(exc)) from exc
                raise
