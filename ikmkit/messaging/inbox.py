"""Idempotent consumption: remember processed event ids in the effect's own transaction."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from contracts.envelope import EnvelopeAttributes
from ikmkit.store import CollectionSpec, Transaction
from ikmkit.unit_of_work import UnitOfWork

INBOX = "inbox"
INBOX_COLLECTIONS = (CollectionSpec(INBOX),)


def _inbox_id(group: str, event_id: str) -> str:
    return f"{group}|{event_id}"


async def already_processed(uow: Transaction, group: str, event_id: str) -> bool:
    return await uow.get(INBOX, _inbox_id(group, event_id)) is not None


async def unprocessed(uow: Transaction, group: str, event_ids: Sequence[str]) -> set[str]:
    ids = [_inbox_id(group, e) for e in event_ids]  # once each: a batch holds thousands
    seen = await uow.get_many(INBOX, ids)
    return {e for e, inbox_id in zip(event_ids, ids, strict=True) if inbox_id not in seen}


async def mark_processed(uow: Transaction, group: str, event_ids: Sequence[str]) -> None:
    now = time.time_ns()
    await uow.insert_many(
        INBOX,
        [
            {"id": _inbox_id(group, e), "group": group, "event_id": e, "at_ns": now}
            for e in event_ids
        ],
    )


type Handler[U] = Callable[[Any, EnvelopeAttributes, U], Awaitable[None]]
"""An event handler: the event, its envelope, the service's open unit of work."""
type Deduplicated[U] = Callable[[Any, EnvelopeAttributes, U], Awaitable[bool]]
"""The same, returning whether it applied the event (False: it had been processed before)."""


def deduplicated[U: UnitOfWork](group: str, handler: Handler[U]) -> Deduplicated[U]:
    """Wrap ``handler`` so an event it already processed has no second effect (eventuate-tram's
    ``DuplicateDetectingMessageHandlerDecorator``): the id is recorded in the handler's own
    unit of work, so the effect and the record commit together or not at all."""

    async def once(event: Any, meta: EnvelopeAttributes, uow: U) -> bool:
        if await already_processed(uow.tx, group, meta.id):
            return False
        await handler(event, meta, uow)
        await mark_processed(uow.tx, group, [meta.id])
        return True

    return once
