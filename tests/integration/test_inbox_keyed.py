"""The inbox as a keyed table (one row per group and event id, no JSON document): what the
consumers read and write is unchanged, and a store holding the inbox as documents (the
layout before) opens with every processed id still processed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ikmkit.messaging import inbox
from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS
from ikmkit.store import CollectionSpec, DuplicateKey, Store
from ikmkit.store.sqlite import SqliteStore

OLD = [CollectionSpec(INBOX)]  # the documents' layout


def old_entry(event_id: str, at_ns: int) -> dict[str, object]:
    return {"id": f"g|{event_id}", "group": "g", "event_id": event_id, "at_ns": at_ns}


async def test_an_inbox_of_documents_opens_with_its_ids_processed(fresh_store: Store) -> None:
    await fresh_store.open(OLD)
    async with fresh_store.transaction() as tx:
        await tx.insert_many(INBOX, [old_entry("e1", 7), old_entry("e2", 8)])
    await fresh_store.close()
    await fresh_store.open(list(INBOX_COLLECTIONS))
    async with fresh_store.transaction() as tx:
        assert await inbox.unprocessed(tx, "g", ["e1", "e2", "e3"]) == {"e3"}
        assert await inbox.unprocessed(tx, "other", ["e1"]) == {"e1"}
        assert await inbox.already_processed(tx, "g", "e2")
        assert await tx.get(INBOX, "g|e1") == {**old_entry("e1", 7), "version": 1}
        await inbox.mark_processed(tx, "g", ["e3"])
    async with fresh_store.transaction() as tx:
        assert await tx.count(INBOX) == 3
        assert await inbox.unprocessed(tx, "g", ["e3"]) == set()


async def test_an_id_recorded_twice_is_refused_with_its_unit_of_work(fresh_store: Store) -> None:
    await fresh_store.open(list(INBOX_COLLECTIONS))
    async with fresh_store.transaction() as tx:
        await inbox.mark_processed(tx, "g", ["e1"])
    with pytest.raises(DuplicateKey):
        async with fresh_store.transaction() as tx:
            await inbox.mark_processed(tx, "g", ["e2", "e1"])
    async with fresh_store.transaction() as tx:
        assert await inbox.unprocessed(tx, "g", ["e1", "e2"]) == {"e2"}


async def test_the_sqlite_inbox_is_keyed_by_group_and_event_id(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "inbox.db")
    await store.open(OLD)
    async with store.transaction() as tx:
        await tx.insert_many(INBOX, [old_entry(f"e{n}", n) for n in range(1, 1001)])
    await store.close()
    await store.open(list(INBOX_COLLECTIONS))
    await store.close()
    conn = sqlite3.connect(tmp_path / "inbox.db")
    columns = [row[1] for row in conn.execute(f"PRAGMA table_info(c_{INBOX})")]
    plan = conn.execute(
        f"EXPLAIN QUERY PLAN SELECT 1 FROM c_{INBOX} WHERE \"group\" = 'g' AND event_id = 'e5'"
    ).fetchall()
    moved = conn.execute(f"SELECT COUNT(*), SUM(at_ns) FROM c_{INBOX}").fetchone()
    conn.close()
    assert columns == ["group", "event_id", "at_ns", "version"]
    assert "PRIMARY KEY" in plan[0][-1]
    assert moved == (1000, 500_500)
