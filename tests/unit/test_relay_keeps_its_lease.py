"""A relay pass that takes longer than the relay's lease (a slow broker) keeps the lease:
it was renewed only when a pass began, so halfway through a long one another replica's
relay took it over and published the same events again."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from bench._registry_outbox import events
from ikmkit.messaging.outbox import (
    OUTBOX_COLLECTIONS,
    Outbox,
    OutgoingMessage,
    PublishResult,
)
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.store.sqlite import SqliteStore


class SlowBroker:
    """Lands each batch after ``seconds``; counts every message it was given."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.published: list[str] = []

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        await asyncio.sleep(self.seconds)
        first = len(self.published)
        self.published += [m.key.decode() if m.key else "" for m in messages]
        return [
            PublishResult(partition=0, offset=first + i, batch_offset=first)
            for i in range(len(messages))
        ]


async def test_a_pass_longer_than_the_lease_keeps_it(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "outbox.db")
    await store.open(list(OUTBOX_COLLECTIONS))
    outbox = Outbox("/ikm/registry")
    async with store.transaction() as uow:
        await outbox.add_many(uow, events(0, 3))
    broker = SlowBroker(0.8)
    one = OutboxRelay(store, broker, lease_seconds=0.2, poll_interval=0.05)
    other = OutboxRelay(store, broker, lease_seconds=0.2)
    one.start()
    try:
        await asyncio.sleep(0.4)  # one's pass is halfway, two of its leases long
        assert await other.publish_pending() == 0  # not the holder: nothing published
        await asyncio.sleep(0.8)
    finally:
        await one.stop()
        await other.stop()
        await store.close()
    assert len(broker.published) == 3
