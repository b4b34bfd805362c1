"""Two processes opening one SQLite store of the layout before (the service restarting on
the new code while ``ikm audit replay --store`` opens the same file, or two workers): both
see the old layout, one migrates it, the other's migration starts once the first one's
transaction has committed. That second migration must find the table already moved and
leave it as it is (the outbox's columns read from documents that no longer hold them
would be NULL: every row's topic, key, payload and relay state lost), and the inbox's
must not refuse to open."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from ikmkit.messaging import inbox
from ikmkit.messaging.inbox import INBOX, INBOX_COLLECTIONS
from ikmkit.messaging.outbox import (
    OUTBOX,
    OUTBOX_COLLECTIONS,
    OUTBOX_ROW_COLUMNS,
    Outbox,
    outbox_backlog,
)
from ikmkit.store import CollectionSpec, Counters
from ikmkit.store.sqlite import SqliteStore
from ikmkit.store.sqlite_columns import ColumnTable
from ikmkit.store.sqlite_counters import CounterTable
from tests.support.outbox_layouts import OLD_LAYOUT, event


async def _old_outbox(path: Path) -> list[dict[str, Any]]:
    old = SqliteStore(path)
    await old.open(OLD_LAYOUT)
    async with old.transaction() as uow:
        await Outbox("/test").add_many(uow, [event(i) for i in range(4)])
    async with old.transaction() as uow:
        rows = (await uow.find(OUTBOX, {}, order_by=[("id", 1)], limit=100)).items
    await old.close()
    return rows


async def _rows(path: Path) -> list[dict[str, Any]]:
    store = SqliteStore(path)
    await store.open(list(OUTBOX_COLLECTIONS))
    async with store.transaction() as uow:
        rows = (await uow.find(OUTBOX, {}, order_by=[("id", 1)], limit=100)).items
    backlog = await outbox_backlog(store)
    await store.close()
    assert backlog.pending == len(rows)
    return rows


async def test_an_outbox_migrated_meanwhile_is_not_migrated_again(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    before = await _old_outbox(path)
    late = sqlite3.connect(path, isolation_level=None)  # saw the old layout, then waited
    first = SqliteStore(path)
    await first.open(list(OUTBOX_COLLECTIONS))
    await first.close()
    ColumnTable(OUTBOX, OUTBOX_ROW_COLUMNS)._migrate(late)  # its create() decided already
    late.close()
    assert await _rows(path) == before


async def test_an_inbox_migrated_meanwhile_opens(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = SqliteStore(path)
    await old.open([CollectionSpec(INBOX)])
    async with old.transaction() as uow:
        await uow.insert(INBOX, {"id": "g|e1", "group": "g", "event_id": "e1", "at_ns": 5})
    await old.close()
    late = sqlite3.connect(path, isolation_level=None)
    first = SqliteStore(path)
    await first.open(list(INBOX_COLLECTIONS))
    await first.close()
    counters = INBOX_COLLECTIONS[0].counter
    assert isinstance(counters, Counters)
    CounterTable(INBOX, counters)._migrate(late)  # its create() decided already
    late.close()
    store = SqliteStore(path)
    await store.open(list(INBOX_COLLECTIONS))
    async with store.transaction() as uow:
        assert await inbox.unprocessed(uow, "g", ["e1", "e2"]) == {"e2"}
    await store.close()


async def test_a_table_created_meanwhile_is_not_created_again(tmp_path: Path) -> None:
    """Two processes opening a new store: both saw no table, the second's DDL comes after
    the first's."""
    path = tmp_path / "new.db"
    late = sqlite3.connect(path, isolation_level=None)
    first = SqliteStore(path)
    await first.open(list(OUTBOX_COLLECTIONS))
    await first.close()
    table = ColumnTable(OUTBOX, OUTBOX_ROW_COLUMNS)
    late.execute(table._ddl(table.table))  # its create() decided already
    late.close()
    assert await _rows(path) == []


async def test_a_text_holding_a_nul_is_migrated_whole(tmp_path: Path) -> None:
    """A column's text holding U+0000 (an aggregate's code is the caller's choice): SQLite's
    ``json_extract`` ends a text at it, the row moved into the columns must not."""
    path = tmp_path / "old.db"
    old = SqliteStore(path)
    await old.open(OLD_LAYOUT)
    key = "K\x00tail"
    row = {"id": "r1", "topic": "t", "key": key, "headers": {}, "payload": '{"a": "\\u0000"}',
           "created_ns": 1, "sequence": 1, "sent": False, "parked_reason": "x\x00y"}  # fmt: skip
    async with old.transaction() as uow:
        await uow.insert(OUTBOX, row)
    await old.close()
    store = SqliteStore(path)
    await store.open(list(OUTBOX_COLLECTIONS))
    async with store.transaction() as uow:
        assert await uow.get(OUTBOX, "r1") == {**row, "version": 1}
        assert await uow.count(OUTBOX, {"key": key, "sent": False}) == 1
    await store.close()
