"""An event's notifications are found by their ids' prefix ("<event id>|...", the dedup key),
so the notifications table needs no index of ``event_id``: one index fewer for each of the
three notifications the consumer writes per event."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from ikmkit.messaging.outbox import Outbox
from ikmkit.store import Range
from ikmkit.store.sqlite import SqliteStore
from ikmkit.store.sqlite_sql import table_name, where_sql
from ikmkit.unit_of_work import Units
from services.notify.domain.model import Notification, notification_id
from services.notify.store import COLLECTIONS, NOTIFICATIONS, NotifyUnit

AT = datetime(2026, 12, 1, 20, 0, tzinfo=UTC)


def _notification(event_id: str, recipient: str, channel: str = "inbox") -> Notification:
    return Notification(
        id=notification_id(event_id, recipient, channel),  # type: ignore[arg-type]
        event_id=event_id,
        event_type="EnterpriseRegistered",
        recipient=recipient,
        channel=channel,  # type: ignore[arg-type]
        created_at=AT,
    )


async def test_of_event_finds_exactly_the_events_notifications(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "notify.db")
    await store.open(COLLECTIONS)
    units = Units(store, Outbox("notify"), NotifyUnit)
    mine = [_notification("e1", "regional:31"), _notification("e1", "enterprise:1", "email")]
    others = [
        _notification("e10", "regional:31"),  # a longer id with the same first characters
        _notification("e1|x", "regional:31"),  # an id that starts with "e1|"
        _notification("e0", "regional:31"),
        _notification("e2", "regional:31"),
    ]
    try:
        async with units.open() as uow:
            await uow.notifications.add_many([*others, *mine])
        async with units.open() as uow:
            found = await uow.notifications.of_event("e1")
            assert sorted(n.id for n in found) == sorted(n.id for n in mine)
            assert [n.id for n in await uow.notifications.of_event("e1|x")] == [others[1].id]
            assert await uow.notifications.of_event("e") == []
    finally:
        await store.close()


async def test_of_event_reads_the_primary_key_not_the_table(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "notify.db")
    await store.open(COLLECTIONS)
    await store.close()
    clause, params = where_sql({"id": Range(gte="e1|", lt="e1}"), "event_id": "e1"})
    with sqlite3.connect(tmp_path / "notify.db") as conn:
        indexed = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?",
            (table_name(NOTIFICATIONS).strip('"'),),
        ).fetchall()
        plan = conn.execute(
            f"EXPLAIN QUERY PLAN SELECT id FROM {table_name(NOTIFICATIONS)}{clause}", params
        ).fetchall()
    assert not any("event_id" in (sql or "") for (sql,) in indexed)
    detail = " ".join(str(row[-1]) for row in plan)
    assert "SEARCH" in detail and "sqlite_autoindex" in detail, detail
