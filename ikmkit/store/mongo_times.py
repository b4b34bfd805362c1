"""The MongoDB adapter's rewrite of a collection's ``times`` written in another form than
``stored_time``'s (by code before it; ``ikmkit.store.times``): once per field, recorded in a
marker collection so later opens cost one lookup. Rewriting a value to the same instant is
harmless if two replicas open at once."""

from __future__ import annotations

from contextlib import suppress

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from ikmkit.store.mongo_query import Raw, mongo_path
from ikmkit.store.port import CollectionSpec
from ikmkit.store.times import MARKS, fixed, is_stored, log, marker


async def fix_times(db: AsyncDatabase[Raw], spec: CollectionSpec) -> None:
    for f in spec.times:
        name = marker(spec.name, f)
        if await db[MARKS].find_one({"_id": name}) is not None:
            continue
        path = mongo_path(f)
        rewritten = 0
        async for raw in db[spec.name].find({path: {"$ne": None}}, {path: 1}):
            value = raw.get(path)
            if isinstance(value, str) and not is_stored(value) and fixed(value) != value:
                await db[spec.name].update_one({"_id": raw["_id"]}, {"$set": {path: fixed(value)}})
                rewritten += 1
        with suppress(DuplicateKeyError):  # another replica finished first
            await db[MARKS].insert_one({"_id": name})
        if rewritten:
            log.info("%s: %d times rewritten in the fixed-width form", name, rewritten)
