"""Idempotent consumption: remember processed event ids in the effect's own transaction."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from contracts.envelope import EnvelopeAttributes
from ikmkit.store import CollectionSpec, Counters, In, Transaction
from ikmkit.unit_of_work import UnitOfWork

INBOX = "inbox"
SIGNED = "inbox_signed"
INBOX_COLLECTIONS = (
    # A keyed table: one row per (group, event id) holding when it was processed (SQLite:
    # columns keyed by them, no JSON document and no second index; MongoDB: documents and an
    # index of the key). The ids are ``group|event id``, each part's ``|`` and ``\`` escaped
    # (``Counters.id_of``: ``a|b`` + ``c`` and ``a`` + ``b|c`` once shared one; MongoDB
    # stores written before are re-keyed at open, ``ikmkit/store/mongo_migrations.py``); a
    # store holding the inbox as documents is migrated in place, in one transaction, when it
    # opens (``ikmkit/store/sqlite_counters.py``; docs/performance.md, "Insights consumers").
    CollectionSpec(INBOX, counter=Counters(("group", "event_id"), value="at_ns")),
    # The signed ce_hash of each event processed from an owner that signs, in the same
    # layout (``event_id`` holds the hash): a copy of a genuine signature under another
    # ce_id is refused by it (``ikmkit.messaging.consumer``). Apart from ``INBOX``, so
    # that one still counts the events processed.
    CollectionSpec(SIGNED, counter=Counters(("group", "event_id"), value="at_ns")),
)
CHUNK = 500


async def already_processed(
    uow: Transaction, group: str, event_id: str, collection: str = INBOX
) -> bool:
    return not await unprocessed(uow, group, [event_id], collection)


async def unprocessed(
    uow: Transaction, group: str, event_ids: Sequence[str], collection: str = INBOX
) -> set[str]:
    """The ids among ``event_ids`` the group has not processed (looked up by the key;
    ``collection``: ``SIGNED`` for the signed hashes)."""
    fresh = set(event_ids)
    ids = list(fresh)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        where = {"group": group, "event_id": In(chunk)}
        page = await uow.find(collection, where, limit=len(chunk))
        fresh.difference_update([doc["event_id"] for doc in page.items])
    return fresh


async def mark_processed(
    uow: Transaction, group: str, event_ids: Sequence[str], collection: str = INBOX
) -> None:
    """The ids recorded as processed; ``DuplicateKey`` if one already is (then the unit of
    work, the effect with it, commits nothing)."""
    now = time.time_ns()
    docs = [{"group": group, "event_id": e, "at_ns": now} for e in event_ids]
    if docs:
        await uow.insert_many(collection, docs)


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
