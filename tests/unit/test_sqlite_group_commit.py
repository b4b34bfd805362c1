"""Group commit (``ikmkit.store.sqlite_group``): concurrent units of work share one ``COMMIT``;
each stays atomic, and none is answered before its writes are committed."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ikmkit.store import CollectionSpec
from ikmkit.store.sqlite import SqliteStore

THINGS = CollectionSpec("things")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = SqliteStore(tmp_path / "group.db")
    await store.open([THINGS])
    yield store
    await store.close()


def statements(store: SqliteStore) -> list[str]:
    seen: list[str] = []
    conn = store._connection()
    conn.set_trace_callback(seen.append)
    return seen


def committed_ids(path: Path) -> set[str]:
    """What another connection (another process) reads: committed rows only."""
    with sqlite3.connect(path) as other:
        return {row[0] for row in other.execute('SELECT id FROM "c_things"')}


async def insert(store: SqliteStore, doc_id: str, path: Path) -> None:
    async with store.transaction() as tx:
        await tx.insert("things", {"id": doc_id})
    # The block has exited: the write is committed, whoever else shared the commit.
    assert doc_id in committed_ids(path)


async def test_concurrent_units_share_one_commit(store: SqliteStore, tmp_path: Path) -> None:
    seen = statements(store)
    ids = [f"t{i}" for i in range(20)]
    await asyncio.gather(*(insert(store, i, tmp_path / "group.db") for i in ids))
    assert committed_ids(tmp_path / "group.db") == set(ids)
    assert seen.count("COMMIT") < len(ids) / 2, seen
    assert seen.count("SAVEPOINT unit") == len(ids)


async def test_a_failed_unit_is_undone_alone(store: SqliteStore, tmp_path: Path) -> None:
    async def failing() -> None:
        async with store.transaction() as tx:
            await tx.insert("things", {"id": "bad"})
            raise RuntimeError("the handler broke a rule")

    results = await asyncio.gather(
        insert(store, "a", tmp_path / "group.db"),
        failing(),
        insert(store, "b", tmp_path / "group.db"),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == ["NoneType", "RuntimeError", "NoneType"]
    assert committed_ids(tmp_path / "group.db") == {"a", "b"}


async def test_a_lone_unit_commits_without_waiting_for_company(
    store: SqliteStore, tmp_path: Path
) -> None:
    await asyncio.wait_for(insert(store, "alone", tmp_path / "group.db"), timeout=1)


async def test_a_commit_that_fails_fails_every_unit_of_its_group(
    store: SqliteStore, tmp_path: Path
) -> None:
    conn = store._connection()
    # A deferred foreign key is checked at COMMIT: the group's commit fails.
    conn.execute("CREATE TABLE parent (id TEXT PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE child (id TEXT, parent TEXT REFERENCES parent(id)"
        " DEFERRABLE INITIALLY DEFERRED)"
    )
    conn.execute("PRAGMA foreign_keys=ON")

    async def orphan() -> None:
        async with store.transaction():
            conn.execute("INSERT INTO child VALUES ('c', 'missing')")

    async def plain() -> None:
        async with store.transaction() as tx:
            await tx.insert("things", {"id": "p"})

    results = await asyncio.gather(plain(), orphan(), return_exceptions=True)
    assert all(isinstance(r, Exception) for r in results), results
    assert committed_ids(tmp_path / "group.db") == set()
    await insert(store, "after", tmp_path / "group.db")  # the store goes on


async def test_a_read_neither_waits_for_the_units_queued_behind_it_nor_sees_uncommitted(
    store: SqliteStore, tmp_path: Path
) -> None:
    """A query answers once its own read is done: it ends the group before it (so it reads
    only committed writes) instead of joining it and waiting for every unit queued after it."""
    path = tmp_path / "group.db"
    at_answer: dict[str, object] = {}

    async def read() -> None:
        async with store.transaction(read_only=True) as tx:
            page = await tx.find("things", {}, limit=100)
            at_answer["seen"] = {doc["id"] for doc in page.items}
        at_answer["committed"] = committed_ids(path)

    before = [f"b{i}" for i in range(10)]
    after = [f"a{i}" for i in range(10)]
    await asyncio.gather(
        *(insert(store, i, path) for i in before),
        read(),
        *(insert(store, i, path) for i in after),
    )
    assert at_answer["seen"] == set(before)
    assert at_answer["committed"] == set(before)  # what it saw was committed, the rest not yet
    assert committed_ids(path) == set(before + after)
