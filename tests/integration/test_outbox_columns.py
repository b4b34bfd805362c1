"""The outbox's columns (``Columns``): the same documents, filters and writes on every store;
on SQLite, relay state and ordering fields are table columns with partial indexes, marking a
row sent leaves its document as it is, and a store written in the old layout (every field in
the JSON document, expression indexes) opens and reads the same."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ikmkit.messaging.outbox import (
    OUTBOX,
    OUTBOX_COLLECTIONS,
    Outbox,
    PublishResult,
    outbox_backlog,
)
from ikmkit.messaging.outbox_parking import park_fields, parked_count, sent_fields
from ikmkit.store import CollectionSpec, Columns, In, Store, StoreError
from ikmkit.store.sqlite import SqliteStore
from tests.support.outbox_layouts import OLD_LAYOUT, event

THINGS = "things"
SPECS = [
    CollectionSpec(
        THINGS,
        indexes=[("state", "rank")],
        columns=Columns(
            fields=("state", "rank", "done", "note"),
            flags=("done",),
            indexes=((("rank", "id"), {"done": False}),),
        ),
    )
]


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open(SPECS)
    yield fresh_store


def thing(i: int, **extra: Any) -> dict[str, Any]:
    return {"id": f"t{i:02d}", "state": "a" if i % 2 else "b", "rank": i, "done": False,
            "body": {"n": i, "tags": ["x"]}, **extra}  # fmt: skip


def present(doc: dict[str, Any]) -> dict[str, Any]:
    """What every adapter reads back: a field set to None may be read as missing."""
    return {k: v for k, v in doc.items() if v is not None}


async def test_columns_read_filter_and_write_like_documents(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.insert_many(THINGS, [thing(i) for i in range(6)])
        await uow.insert(THINGS, thing(6, done=True, note="n"))
        await uow.patch_each(
            THINGS, {"t01": {"done": True, "extra": {"k": 1}}, "t02": {"rank": 20}}
        )
        await uow.patch_many(THINGS, ["t03", "t04"], {"note": "later", "state": "c"})
        got = await uow.get(THINGS, "t01")
        assert got is not None
        await uow.replace(THINGS, {**got, "note": "replaced", "done": False})
    async with store.transaction() as uow:
        every = {d["id"]: present(d) for d in (await uow.find(THINGS, {}, limit=50)).items}
        pending = await uow.find(THINGS, {"done": False}, order_by=[("rank", 1)])
        done = await uow.count(THINGS, {"done": True})
        in_c = await uow.count(THINGS, {"state": In(["c"]), "note": "later"})
        no_note = await uow.count(THINGS, {"note": None})
        by_body = await uow.count(THINGS, {"body.n": 5})
    assert every["t01"] == {**thing(1), "extra": {"k": 1}, "note": "replaced", "version": 3}
    assert every["t02"] == {**thing(2), "rank": 20, "version": 2}
    assert every["t03"] == {**thing(3), "note": "later", "state": "c", "version": 2}
    assert every["t06"] == {**thing(6, done=True, note="n"), "version": 1}
    assert type(every["t06"]["done"]) is bool and every["t00"]["done"] is False
    assert [d["id"] for d in pending.items] == ["t00", "t01", "t03", "t04", "t05", "t02"]
    assert (done, in_c, no_note, by_body) == (1, 2, 3, 1)


async def test_a_column_takes_no_object(store: Store) -> None:
    if not isinstance(store, SqliteStore):
        pytest.skip("a document store keeps any value")
    with pytest.raises(StoreError):
        async with store.transaction() as uow:
            await uow.insert(THINGS, thing(1, note={"nested": 1}))


async def write_outbox(store: Store) -> list[str]:
    """Six events (two of one stream); one sent, one parked with the next of its stream held,
    one marked again for publishing. Returns the ids, oldest first."""
    outbox = Outbox("/test")
    events = [event(i) for i in range(5)]
    async with store.transaction() as uow:
        await outbox.add_many(uow, [*events, events[1]])
    async with store.transaction() as uow:
        ids = [r["id"] for r in (await uow.find(OUTBOX, {}, order_by=[("created_ns", 1)])).items]
        sent = sent_fields(PublishResult(partition=2, offset=7), 1_700_000_000_000_000_000)
        parked = park_fields(PublishResult(error="too large", permanent=True))
        await uow.patch_each(OUTBOX, {ids[0]: sent, ids[1]: parked, ids[2]: sent})
        await uow.patch_many(OUTBOX, [ids[5]], {"held": True})
        await uow.patch_many(OUTBOX, [ids[2]], {"sent": False, "republished_ns": 5})
    return ids


async def rows_of(store: Store) -> list[dict[str, Any]]:
    async with store.transaction() as uow:
        page = await uow.find(OUTBOX, {}, order_by=[("created_ns", 1)], limit=100)
    return [present(r) for r in page.items]


async def test_a_store_of_the_old_layout_opens_with_the_same_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = SqliteStore(path)
    await old.open(OLD_LAYOUT)
    ids = await write_outbox(old)
    before = await rows_of(old)
    await old.close()

    store = SqliteStore(path)
    await store.open(list(OUTBOX_COLLECTIONS))
    after = await rows_of(store)
    backlog = await outbox_backlog(store)
    async with store.transaction() as uow:
        relay_page = await uow.find(
            OUTBOX, {"sent": False, "held": None}, order_by=[("created_ns", 1), ("sequence", 1)]
        )
        republish = await uow.count(OUTBOX, {"topic": before[0]["topic"], "sent": True})
    parked = await parked_count(store)
    await store.close()

    assert after == before and len(after) == 6
    assert [r["id"] for r in relay_page.items] == [ids[2], ids[3], ids[4]]
    assert (backlog.pending, parked, republish) == (5, 1, 1)  # pending: parked and held too
    conn = sqlite3.connect(path)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    docs = [r[0] for r in conn.execute('SELECT doc FROM "c_outbox"')]
    conn.close()
    assert "ix_outbox_sent_created_ns_sequence" not in indexes
    assert "ix_outbox_created_ns_sequence_id_where_sent" in indexes
    assert all('"sent"' not in d and '"version"' not in d for d in docs)


async def test_the_stream_continues_after_the_migration(tmp_path: Path) -> None:
    """The chain and sequence of a stream written in the old layout go on after it."""
    path = tmp_path / "old.db"
    old = SqliteStore(path)
    await old.open(OLD_LAYOUT)
    await write_outbox(old)
    await old.close()
    store = SqliteStore(path)
    await store.open(list(OUTBOX_COLLECTIONS))
    async with store.transaction() as uow:
        [attrs] = await Outbox("/test").add_many(uow, [event(1)])
    rows = await rows_of(store)
    await store.close()
    stream = [r for r in rows if r["key"] == attrs.subject]
    assert [r["sequence"] for r in stream] == [1, 2, 3]
    assert stream[-1]["headers"]["ce_hash"] == attrs.hash


async def test_marking_a_row_sent_leaves_its_document_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    store = SqliteStore(path)
    await store.open(list(OUTBOX_COLLECTIONS))
    async with store.transaction() as uow:
        await Outbox("/test").add_many(uow, [event(i) for i in range(3)])
    conn = sqlite3.connect(path)
    docs = conn.execute('SELECT id, doc FROM "c_outbox" ORDER BY id').fetchall()
    async with store.transaction() as uow:
        sent = sent_fields(PublishResult(partition=0, offset=1), 1)
        await uow.patch_each(OUTBOX, {doc_id: sent for doc_id, _ in docs})
    await store.close()
    assert conn.execute('SELECT id, doc FROM "c_outbox" ORDER BY id').fetchall() == docs
    plan = " ".join(
        str(r[3])
        for r in conn.execute(
            'EXPLAIN QUERY PLAN SELECT doc FROM "c_outbox" WHERE "sent" = 0 AND "held" IS NULL'
            ' ORDER BY "created_ns", "sequence", id LIMIT 10'
        )
    )
    conn.close()
    assert "ix_outbox_created_ns_sequence_id_where_sent" in plan and "TEMP" not in plan
