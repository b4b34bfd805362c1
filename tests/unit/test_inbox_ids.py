"""Inbox records (a counter collection keyed by group and event id) have distinct ids for
distinct keys: the id joined the parts with ``|``, so ``a|b`` + ``c`` and ``a`` + ``b|c``
shared one, and on MongoDB (keyed by that id) the second event's record clashed with the
first's: its effect was rolled back as a duplicate. An event recorded under the old id by
code before is still seen as processed, and still refused a second record."""

from __future__ import annotations

import itertools

import pytest
from pymongo import AsyncMongoClient

from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS, mark_processed, unprocessed
from ikmkit.store import Counters, DuplicateKey, Store
from ikmkit.store.mongo import MongoStore

KEYS = [("a|b", "c"), ("a", "b|c"), ("a\\", "|c"), ("a\\|", "c"), ("a", "\\|c")]


def test_counter_ids_are_injective() -> None:
    counters = Counters(("group", "event_id"))
    parts = ["", "a", "|", "\\", "a|", "|a", "\\|", "|\\", "a\\", "\\\\|"]
    keys = list(itertools.product(parts, parts))
    ids = {counters.id_of({"group": g, "event_id": e}) for g, e in keys}
    assert len(ids) == len(keys)
    assert counters.id_of({"group": "notify", "event_id": "e-1"}) == "notify|e-1"  # as before


async def test_keys_sharing_a_joined_text_are_recorded_apart(fresh_store: Store) -> None:
    await fresh_store.open(INBOX_COLLECTIONS)
    for group, event_id in KEYS:
        async with fresh_store.transaction() as tx:
            assert await unprocessed(tx, group, [event_id]) == {event_id}
            await mark_processed(tx, group, [event_id])
    async with fresh_store.transaction(read_only=True) as tx:
        for group, event_id in KEYS:
            assert await unprocessed(tx, group, [event_id]) == set()
            assert (
                await tx.get(
                    INBOX,
                    Counters(("group", "event_id")).id_of({"group": group, "event_id": event_id}),
                )
                is not None
            )
    with pytest.raises(DuplicateKey):
        async with fresh_store.transaction() as tx:
            await mark_processed(tx, "a", ["b|c"])


async def test_a_record_under_the_old_id_is_still_processed(
    store_kind: str, fresh_store: Store
) -> None:
    if store_kind != "mongodb":
        pytest.skip("SQLite keys the inbox by its columns, not by the id")
    assert isinstance(fresh_store, MongoStore)
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(fresh_store._url)
    try:  # as the code before wrote them: the parts joined by "|"
        raw = client[fresh_store._database][INBOX]
        await raw.insert_one({"_id": "a|b|c", "group": "a|b", "event_id": "c", "at_ns": 1})
    finally:
        await client.close()
    await fresh_store.open(INBOX_COLLECTIONS)
    async with fresh_store.transaction(read_only=True) as tx:
        assert await unprocessed(tx, "a|b", ["c", "d"]) == {"d"}
    with pytest.raises(DuplicateKey):  # a second record of it is refused, as before
        async with fresh_store.transaction() as tx:
            await mark_processed(tx, "a|b", ["c"])
    async with fresh_store.transaction() as tx:  # the one it clashed with is another
        assert await unprocessed(tx, "a", ["b|c"]) == {"b|c"}
        await mark_processed(tx, "a", ["b|c"])
    async with fresh_store.transaction(read_only=True) as tx:
        assert await unprocessed(tx, "a", ["b|c"]) == set()
        assert await unprocessed(tx, "a|b", ["c"]) == set()
