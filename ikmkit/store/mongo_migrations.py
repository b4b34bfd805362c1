"""What the MongoDB adapter rewrites when a store opens, once (a marker in ``MARKS`` records
it, so later opens cost one lookup):

- a collection's ``times`` written in another form than ``stored_time``'s
  (``ikmkit.store.times``); rewriting a value to the same instant is harmless if two
  replicas open at once;
- counters whose ``_id`` was written before ``Counters.id_of`` escaped ``|`` and ``\\``
  (``a|b`` + ``c`` and ``a`` + ``b|c`` shared one): moved to their id now, so the id's
  uniqueness keeps guarding them (an inbox record: an event processed under the old id is
  still refused a second time); each move is one transaction where the server has them, so
  a crash never leaves a counter under both ids.
"""

from __future__ import annotations

from contextlib import suppress

from pymongo import UpdateOne
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, PyMongoError

from ikmkit.store.mongo_query import Raw, from_raw, mongo_path
from ikmkit.store.port import CollectionSpec
from ikmkit.store.times import MARKS, fixed, is_stored, log, marker

TIMES_BATCH = 1_000


async def fix_times(db: AsyncDatabase[Raw], spec: CollectionSpec) -> None:
    for f in spec.times:
        name = marker(spec.name, f)
        if await _marked(db, name):
            continue
        path = mongo_path(f)
        rewritten, batch = 0, list[UpdateOne]()
        async for raw in db[spec.name].find({path: {"$ne": None}}, {path: 1}):
            value = raw.get(path)
            if not isinstance(value, str) or is_stored(value):
                continue
            if (now := fixed(value)) != value:
                batch.append(UpdateOne({"_id": raw["_id"]}, {"$set": {path: now}}))
            if len(batch) == TIMES_BATCH:
                rewritten += await _write(db[spec.name], batch)
        rewritten += await _write(db[spec.name], batch)
        await _mark(db, name)
        if rewritten:
            log.info("%s: %d times rewritten in the fixed-width form", name, rewritten)


async def _write(coll: AsyncCollection[Raw], batch: list[UpdateOne]) -> int:
    """The batch written in one round trip (a store of millions: not one trip a document);
    emptied for the next."""
    if not batch:
        return 0
    await coll.bulk_write(batch, ordered=False)
    written = len(batch)
    batch.clear()
    return written


async def fix_counter_ids(db: AsyncDatabase[Raw], spec: CollectionSpec, atomic: bool) -> None:
    """``atomic``: move each counter in a transaction (where the server has them)."""
    counters = spec.counter
    name = f"counter_ids:{spec.name}"
    if counters is None or await _marked(db, name):
        return
    # Only a value holding | or \ has another id now.
    query = {"$or": [{mongo_path(f): {"$regex": r"[|\\]"}} for f in counters.fields]}
    moved, missed = 0, 0
    async for raw in db[spec.name].find(query):
        new_id = counters.id_of(from_raw(raw))
        if new_id == raw["_id"]:
            continue
        try:
            if not atomic:
                await _move(db[spec.name], counters.value, raw, new_id, None)
            else:
                async with db.client.start_session() as s, await s.start_transaction():
                    await _move(db[spec.name], counters.value, raw, new_id, s)
            moved += 1
        except PyMongoError as exc:  # another replica opening now moved it (or will)
            log.warning("%s: counter %r not moved now: %s", spec.name, raw["_id"], exc)
            missed += 1
    if not missed:  # else the next open looks again
        await _mark(db, name)
    if moved:
        log.info("%s: %d counters moved to their escaped ids", spec.name, moved)


async def _move(
    coll: AsyncCollection[Raw],
    value: str,
    raw: Raw,
    new_id: str,
    session: AsyncClientSession | None,
) -> None:
    """The counter under ``new_id``, added to one written there since (counters add)."""
    if await coll.find_one({"_id": new_id}, session=session) is None:
        body = {k: v for k, v in raw.items() if k != "_id"}
        await coll.insert_one({**body, "_id": new_id}, session=session)
    else:
        await coll.update_one(
            {"_id": new_id}, {"$inc": {value: raw.get(value, 0)}}, session=session
        )
    await coll.delete_one({"_id": raw["_id"]}, session=session)


async def _marked(db: AsyncDatabase[Raw], name: str) -> bool:
    return await db[MARKS].find_one({"_id": name}) is not None


async def _mark(db: AsyncDatabase[Raw], name: str) -> None:
    with suppress(DuplicateKeyError):  # another replica finished first
        await db[MARKS].insert_one({"_id": name})
