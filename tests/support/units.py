"""Units of work on an in-memory SQLite store: use-case tests without Kafka or files.

The store is the real SQLite adapter (the same SQL as production), only in memory; the
outbox is the real one, so a test reads the events a handler recorded exactly as the relay
would publish them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from contracts.base import Event
from contracts.catalog import model_for
from contracts.envelope import H_TYPE
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox
from ikmkit.store import CollectionSpec, Store, Transaction
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import UnitOfWork, Units


@asynccontextmanager
async def memory_units[U: UnitOfWork](
    make: Callable[[Transaction], U],
    collections: Sequence[CollectionSpec] = (),
    *,
    source: str = "urn:ikm:test",
) -> AsyncIterator[Units[U]]:
    store = SqliteStore(":memory:")
    await store.open([*collections, *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS])
    try:
        yield Units(store, Outbox(source), make)
    finally:
        await store.close()


async def recorded_events(units: Units[Any]) -> list[Event]:
    """Every event the units of work committed to the outbox, in the order stored."""
    async with units.store.transaction() as tx:
        page = await tx.find(OUTBOX, order_by=[("created_ns", 1)], limit=10_000)
    events: list[Event] = []
    for row in page.items:
        model = model_for(row["headers"][H_TYPE])
        assert model is not None, row["headers"][H_TYPE]
        events.append(model.model_validate(json.loads(row["payload"])))
    return events


def plain_units(store: Store) -> Units[UnitOfWork]:
    """Units of work with no repositories of their own, for tests of the messaging plumbing."""
    return Units(store, Outbox("urn:ikm:test"), UnitOfWork)
