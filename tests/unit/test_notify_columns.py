"""Notifications with the dispatcher's fields as columns, and the ledger's indexed fields
(``store.COLLECTIONS``): the same notifications on every store; on SQLite, recording a
delivery updates columns and leaves the JSON document as it was written, and a store written
in the old layout (every field in the document) opens and dispatches the same notifications."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.store import CollectionSpec, Store
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import Units
from services.notify import handlers, queries
from services.notify.commands import SendOutcome
from services.notify.domain.model import DeliveryRetries, Notification
from services.notify.store import COLLECTIONS, DELIVERIES, NOTIFICATIONS, NotifyUnit

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
# With a fraction of a second: times are compared as stored text (see stored_time).
NOW = T0 + timedelta(seconds=1, microseconds=500)
POLICY = DeliveryRetries(max_attempts=2, base_seconds=1, max_seconds=1)
# Quotes, backslashes and non-ASCII in the event's data: kept as text, read back the same.
DATA = '{"name": "D\\u00e9wi \\"Ṡiti\\" \\\\ 王", "nib": "1234567890123"}'


def notification(i: int, channel: str = "email") -> Notification:
    return Notification(
        id=f"ev{i}|enterprise:{i}|{channel}",
        event_id=f"ev{i}",
        event_type="EnterpriseRegistered",
        recipient=f"enterprise:{i}",
        channel=channel,  # type: ignore[arg-type]
        target=f"owner{i}@example.id",
        data=DATA,
        next_attempt_at=T0,
        created_at=T0,
    )


def units_on(store: Store) -> Units[NotifyUnit]:
    return Units(store, Outbox("notify"), NotifyUnit, clock=lambda: NOW)


async def record(units: Units[NotifyUnit], outcomes: list[SendOutcome]) -> None:
    await units.run(handlers.record_outcomes, outcomes, POLICY)


async def test_notifications_read_and_recorded_alike_on_every_store(fresh_store: Store) -> None:
    await fresh_store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    units = units_on(fresh_store)
    written = [notification(i) for i in range(4)]
    async with units.open() as uow:
        await uow.notifications.add_many(written)
    due = await units.read(queries.due, 10)
    assert [n.model_dump(exclude={"version"}) for n in due.notifications] == [
        n.model_dump(exclude={"version"}) for n in written
    ]
    first, second, third, _ = due.notifications
    failed = SendOutcome(second, "421 busy")
    await record(units, [SendOutcome(first), failed, SendOutcome(third, "x", permanent=True)])
    async with units.open(read_only=True) as uow:
        found = await uow.notifications.get_many([n.id for n in written])
    assert found[first.id].status == "delivered"
    assert (found[first.id].attempts, found[first.id].last_error) == (1, None)
    assert found[first.id].delivered_at == NOW
    assert found[second.id].status == "pending"
    assert (found[second.id].attempts, found[second.id].last_error) == (1, "421 busy")
    assert found[third.id].status == "dead"
    assert all(n.data == DATA for n in found.values())
    assert [n.id for n in (await units.read(queries.due, 10)).notifications] == [written[3].id]


async def test_a_delivery_on_sqlite_updates_columns_not_the_document(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "notify.db")
    await store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    units = units_on(store)
    async with units.open() as uow:
        await uow.notifications.add_many([notification(1)])
    before = _row(tmp_path / "notify.db")
    due = await units.read(queries.due, 10)
    await record(units, [SendOutcome(due.notifications[0])])
    after = _row(tmp_path / "notify.db")
    await store.close()
    assert after["doc"] == before["doc"]  # the JSON document is not rewritten
    assert "data" not in before["doc"] and before["data"] == DATA  # text, not escaped JSON
    assert (before["status"], after["status"]) == ("pending", "delivered")
    assert (after["attempts"], after["version"]) == (1, before["version"] + 1)


async def test_a_store_written_in_the_old_layout_opens_and_dispatches(tmp_path: Path) -> None:
    old = [CollectionSpec(s.name, indexes=s.indexes) for s in COLLECTIONS]
    store = SqliteStore(tmp_path / "notify.db")
    await store.open([*old, *OUTBOX_COLLECTIONS])
    async with units_on(store).open() as uow:
        await uow.notifications.add_many([notification(i) for i in range(4)])
    first = (await units_on(store).read(queries.due, 1)).notifications[0]
    await record(units_on(store), [SendOutcome(first)])
    await store.close()
    assert "status" not in _row(tmp_path / "notify.db")  # the old layout: a document only
    assert "event_id" not in _row(tmp_path / "notify.db", DELIVERIES)

    store = SqliteStore(tmp_path / "notify.db")
    await store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    units = units_on(store)
    due = await units.read(queries.due, 10)
    assert [n.model_dump(exclude={"version"}) for n in due.notifications] == [
        notification(i).model_dump(exclude={"version"}) for i in range(1, 4)
    ]
    await record(units, [SendOutcome(n) for n in due.notifications])
    assert (await units.read(queries.due, 10)).notifications == []
    async with units.open(read_only=True) as uow:
        ledger = [await uow.ledger.of_event(f"ev{i}") for i in range(4)]
    assert [[(line.attempt, line.status) for line in lines] for lines in ledger] == [
        [(1, "delivered")]
    ] * 4
    await store.close()
    assert _row(tmp_path / "notify.db")["status"] == "delivered"
    assert _row(tmp_path / "notify.db", DELIVERIES)["event_id"] == "ev0"


def _row(db: Path, collection: str = NOTIFICATIONS) -> dict[str, object]:
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute(f"SELECT * FROM c_{collection} ORDER BY id LIMIT 1").fetchone()
        return dict(row)
    finally:
        conn.close()
