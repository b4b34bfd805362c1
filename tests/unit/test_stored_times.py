"""Times compared or ordered by the stores (``CollectionSpec.times``) are written in one
fixed-width form, so their text order is their time order: pydantic writes a whole second as
``...:00Z`` and a fraction as ``...:00.500000Z``, and as text ``00Z`` sorts after ``00.5Z``.
A store written before (either form) is rewritten when it opens."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.store import CollectionSpec, Store, mongo_migrations
from ikmkit.store.sqlite import SqliteStore
from ikmkit.store.times import fixed, stored_time
from ikmkit.unit_of_work import Units
from services.notify import queries
from services.notify.domain.model import Notification
from services.notify.store import COLLECTIONS, NOTIFICATIONS, NotifyUnit

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # a whole second
MS = timedelta(milliseconds=1)


def notification(i: int, due: datetime) -> Notification:
    return Notification(
        id=f"ev{i}|enterprise:{i}|email",
        event_id=f"ev{i}",
        event_type="EnterpriseRegistered",
        recipient=f"enterprise:{i}",
        channel="email",
        target=f"owner{i}@example.id",
        data="{}",
        next_attempt_at=due,
        created_at=due,
    )


def units_at(store: Store, now: datetime) -> Units[NotifyUnit]:
    return Units(store, Outbox("notify"), NotifyUnit, clock=lambda: now)


async def due_ids(store: Store, now: datetime) -> list[str]:
    return [n.id for n in (await units_at(store, now).read(queries.due, 10)).notifications]


async def test_due_at_a_whole_second_is_due_a_fraction_later_in_time_order(
    fresh_store: Store,
) -> None:
    await fresh_store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    jakarta = timezone(timedelta(hours=7))
    written = [
        notification(0, T0 + 500 * MS),
        notification(1, T0),
        notification(2, (T0 + 200 * MS).astimezone(jakarta)),  # another zone, same instant
        notification(3, T0 + timedelta(seconds=1)),  # a whole second, not due yet
        notification(4, T0 + 900 * MS),  # not due yet
    ]
    async with units_at(fresh_store, T0).open() as uow:
        await uow.notifications.add_many(written)
    assert await due_ids(fresh_store, T0 + 700 * MS) == [written[i].id for i in (1, 2, 0)]
    # now at a whole second: what is due half a second later is not due
    assert await due_ids(fresh_store, T0) == []
    assert await due_ids(fresh_store, T0 + timedelta(seconds=1)) == [
        written[i].id for i in (1, 2, 0, 4)
    ]


async def test_a_store_written_with_pydantic_times_is_rewritten_when_it_opens(
    tmp_path: Path,
) -> None:
    old = [CollectionSpec(s.name, s.unique, s.indexes, s.counter, s.columns) for s in COLLECTIONS]
    store = SqliteStore(tmp_path / "notify.db")
    await store.open([*old, *OUTBOX_COLLECTIONS])
    async with store.transaction() as tx:  # as the code before wrote them (pydantic's form)
        for i, due in enumerate((T0 + 500 * MS, T0)):
            doc = notification(i, due).model_dump(mode="json")
            await tx.insert(NOTIFICATIONS, doc)
    await store.close()
    assert _times(tmp_path) == [("2026-03-01T08:00:00.500000Z",) * 2, ("2026-03-01T08:00:00Z",) * 2]

    store = SqliteStore(tmp_path / "notify.db")
    await store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    assert await due_ids(store, T0 + 700 * MS) == [
        "ev1|enterprise:1|email",
        "ev0|enterprise:0|email",
    ]
    assert await due_ids(store, T0) == []
    await store.close()
    assert _times(tmp_path) == [(stored_time(T0 + 500 * MS),) * 2, (stored_time(T0),) * 2]


async def test_a_store_written_before_reads_in_time_order_on_every_store(
    fresh_store: Store,
) -> None:
    old = [CollectionSpec(s.name, s.unique, s.indexes, s.counter, s.columns) for s in COLLECTIONS]
    await fresh_store.open([*old, *OUTBOX_COLLECTIONS])
    async with fresh_store.transaction() as tx:
        for i, due in enumerate((T0 + 500 * MS, T0)):
            await tx.insert(NOTIFICATIONS, notification(i, due).model_dump(mode="json"))
    await fresh_store.close()
    await fresh_store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    assert await due_ids(fresh_store, T0 + 700 * MS) == [
        "ev1|enterprise:1|email",
        "ev0|enterprise:0|email",
    ]
    async with fresh_store.transaction(read_only=True) as tx:
        doc = await tx.get(NOTIFICATIONS, "ev1|enterprise:1|email")
    assert doc is not None
    assert (doc["next_attempt_at"], doc["created_at"]) == (stored_time(T0),) * 2


async def test_every_time_is_rewritten_across_write_batches(
    fresh_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # MongoDB rewrites in batches (``TIMES_BATCH``): full ones, a partial last one, and the
    # rows already in the fixed form skipped, none missed at a batch's edge.
    monkeypatch.setattr(mongo_migrations, "TIMES_BATCH", 3)
    old = [CollectionSpec(s.name, s.unique, s.indexes, s.counter, s.columns) for s in COLLECTIONS]
    await fresh_store.open([*old, *OUTBOX_COLLECTIONS])
    dues = [T0 + i * 100 * MS for i in range(8)]
    async with fresh_store.transaction() as tx:
        for i, due in enumerate(dues):
            doc = notification(i, due).model_dump(mode="json")
            if i % 3 == 1:  # written by today's code already
                doc["next_attempt_at"] = stored_time(due)
            await tx.insert(NOTIFICATIONS, doc)
    await fresh_store.close()
    await fresh_store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    async with fresh_store.transaction(read_only=True) as tx:
        for i, due in enumerate(dues):
            doc = await tx.get(NOTIFICATIONS, f"ev{i}|enterprise:{i}|email")
            assert doc is not None
            assert (doc["next_attempt_at"], doc["created_at"]) == (stored_time(due),) * 2


def test_the_stored_form_is_fixed_width_utc() -> None:
    assert stored_time(T0) == "2026-03-01T08:00:00.000000Z"
    assert fixed("2026-03-01T08:00:00Z") == "2026-03-01T08:00:00.000000Z"
    assert fixed("2026-03-01T15:00:00.25+07:00") == "2026-03-01T08:00:00.250000Z"
    assert fixed("2026-03-01T08:00:00.250000Z") == "2026-03-01T08:00:00.250000Z"
    assert fixed("not a time") == "not a time"


def _times(db: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db / "notify.db")
    try:
        rows = conn.execute(
            f"SELECT next_attempt_at, json_extract(doc, '$.created_at') FROM c_{NOTIFICATIONS}"
            " ORDER BY id"
        ).fetchall()
        return [tuple(r) for r in rows]
    finally:
        conn.close()
