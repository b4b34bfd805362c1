"""Idempotent consumption: remember processed event ids in the effect's own transaction."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ikmkit.store import CollectionSpec, Transaction

INBOX = "inbox"
INBOX_COLLECTIONS = (CollectionSpec(INBOX),)


def _inbox_id(group: str, event_id: str) -> str:
    return f"{group}|{event_id}"


async def already_processed(uow: Transaction, group: str, event_id: str) -> bool:
    return await uow.get(INBOX, _inbox_id(group, event_id)) is not None


async def unprocessed(uow: Transaction, group: str, event_ids: Sequence[str]) -> set[str]:
    seen = await uow.get_many(INBOX, [_inbox_id(group, e) for e in event_ids])
    return {e for e in event_ids if _inbox_id(group, e) not in seen}


async def mark_processed(uow: Transaction, group: str, event_ids: Sequence[str]) -> None:
    now = time.time_ns()
    await uow.insert_many(
        INBOX,
        [
            {"id": _inbox_id(group, e), "group": group, "event_id": e, "at_ns": now}
            for e in event_ids
        ],
    )
