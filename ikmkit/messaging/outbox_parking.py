"""Parked outbox events: the ones the broker refuses as they are (too large, invalid).

A parked row keeps its place in its aggregate's stream (``held``), and so do the
stream's later rows: they wait behind it, while every other stream flows. An
operator lists parked events and retries one once the cause is fixed (e.g. the
broker's and the service's maximum message size raised), or forces it past the
service's own size check; a retry that publishes it releases the stream's held
rows, which the relay then publishes in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ikmkit.messaging.outbox import OUTBOX, Publisher, PublishResult, publish_rows, row_stream
from ikmkit.store import Store, Transaction

PAGE = 1000


async def parked_count(store: Store) -> int:
    async with store.transaction() as uow:
        return await uow.count(OUTBOX, {"parked": True})


async def parked_streams(store: Store) -> set[str]:
    async with store.transaction() as uow:
        rows = (await uow.find(OUTBOX, {"parked": True}, limit=100_000)).items
    return {row_stream(row) for row in rows}


async def list_parked(store: Store, *, limit: int = 100) -> list[dict[str, Any]]:
    """Parked events, oldest first, with their reason and how many events wait behind each."""
    async with store.transaction() as uow:
        rows = (
            await uow.find(OUTBOX, {"parked": True}, order_by=[("created_ns", 1)], limit=limit)
        ).items
        waiting = {
            row["id"]: await uow.count(
                OUTBOX, {"held": True, "topic": row["topic"], "key": row["key"], "parked": None}
            )
            for row in rows
        }
    return [_summary(row, waiting[row["id"]]) for row in rows]


def _summary(row: dict[str, Any], held_behind: int) -> dict[str, Any]:
    return {
        "id": row["id"],
        "topic": row["topic"],
        "key": row["key"],
        "type": row["headers"].get("ce_type"),
        "sequence": row["sequence"],
        "size_bytes": len(str(row["payload"]).encode()),
        "reason": row.get("parked_reason"),
        "parked_at": row.get("parked_at"),
        "retries": row.get("retries", 0),
        "held_behind": held_behind,
    }


def park_fields(result: PublishResult) -> dict[str, Any]:
    return {
        "parked": True,
        "held": True,
        "parked_reason": result.error,
        "parked_at": datetime.now(UTC).isoformat(),
    }


def sent_fields(result: PublishResult, now_ns: int) -> dict[str, Any]:
    return {
        "sent": True,
        "sent_ns": now_ns,
        "partition": result.partition,
        "offset": result.offset,
    }


@dataclass(frozen=True)
class RetryOutcome:
    published: bool
    stream: str
    reason: str | None = None
    partition: int | None = None
    offset: int | None = None
    released: int = 0
    refused: bool = False
    """Not published because the broker refuses it (else: the broker was unreachable)."""


class NotParked(LookupError):
    """No parked event has this id."""


async def retry_parked(
    store: Store, publisher: Publisher, event_id: str, *, force: bool = False
) -> RetryOutcome:
    """Publish a parked event now; if it lands, release the events held behind it."""
    async with store.transaction() as uow:
        row = await uow.get(OUTBOX, event_id)
    if row is None or not row.get("parked"):
        raise NotParked(event_id)
    [result] = await publish_rows(publisher, [row], force=force)
    if not result.ok and not result.permanent:  # the broker is unreachable: nothing learnt
        return RetryOutcome(published=False, stream=row_stream(row), reason=result.error)
    if not result.ok:
        async with store.transaction() as uow:
            await uow.patch_many(
                OUTBOX,
                [event_id],
                {
                    "parked_reason": result.error,
                    "parked_at": datetime.now(UTC).isoformat(),
                    "retries": int(row.get("retries", 0)) + 1,
                },
            )
        return RetryOutcome(
            published=False, stream=row_stream(row), reason=result.error, refused=True
        )
    async with store.transaction() as uow:
        await uow.patch_each(
            OUTBOX,
            {event_id: {**sent_fields(result, time.time_ns()), "parked": False, "held": None}},
        )
        released = await release_stream(uow, row["topic"], row["key"])
    return RetryOutcome(
        published=True,
        stream=row_stream(row),
        partition=result.partition,
        offset=result.offset,
        released=released,
    )


async def release_stream(uow: Transaction, topic: str, key: str) -> int:
    """Let a stream's held rows flow again (its parked row was published)."""
    total = 0
    while True:
        page = await uow.find(OUTBOX, {"held": True, "topic": topic, "key": key}, limit=PAGE)
        ids = [r["id"] for r in page.items if not r.get("parked")]
        await uow.patch_many(OUTBOX, ids, {"held": None})
        total += len(ids)
        if len(ids) < PAGE:
            return total


async def release_orphans(store: Store, parked: set[str]) -> int:
    """Release held rows whose stream has no parked row any more (a retry elsewhere)."""
    async with store.transaction() as uow:
        rows = (await uow.find(OUTBOX, {"held": True}, limit=100_000)).items
        orphans = [r["id"] for r in rows if not r.get("parked") and row_stream(r) not in parked]
        await uow.patch_many(OUTBOX, orphans, {"held": None})
    return len(orphans)
