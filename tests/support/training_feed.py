"""What the training service tests share: registry facts published as the registry does
(outbox, relay, Kafka), course bodies, enterprises, and waiting for an answer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from contracts.base import Event
from contracts.registry import (
    EnterpriseRegistered,
    OwnerContact,
)
from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.store import Store
from ikmkit.store.sqlite import SqliteStore
from tests.support.service import auth_headers

MINISTRY = auth_headers("ministry")


TODAY = datetime.now(UTC).date()


@dataclass
class RegistryFeed:
    """Publishes registry events the way the registry does: outbox, then relay to Kafka."""

    store: Store
    outbox: Outbox
    relay: OutboxRelay

    async def publish(self, *events: Event) -> None:
        async with self.store.transaction() as uow:
            for event in events:
                await self.outbox.add(uow, event)
        while await self.relay.publish_pending():
            pass


@asynccontextmanager
async def registry_feed(kafka: str, tmp_path: Path) -> AsyncIterator[RegistryFeed]:
    store = SqliteStore(tmp_path / "registry-feed.db")
    await store.open(OUTBOX_COLLECTIONS)
    publisher = KafkaPublisher(kafka, client_id="test-registry-feed")
    await publisher.start()
    try:
        yield RegistryFeed(store, Outbox("/ikm/registry"), OutboxRelay(store, publisher))
    finally:
        await publisher.stop()
        await store.close()


async def eventually[T](probe: Callable[[], Awaitable[T | None]], what: str) -> T:
    deadline = asyncio.get_running_loop().time() + 20
    while asyncio.get_running_loop().time() < deadline:
        found = await probe()
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def enterprise_registered(nib: str, province: str = "32") -> EnterpriseRegistered:
    return EnterpriseRegistered(
        nib=nib,
        province=province,
        name="CV Logam Jaya",
        regency=f"{province}04",
        kbli="25920",
        directorate="metal_machinery_electronics_transport",
        size_class="small",
        owner=OwnerContact(name="Siti Rahma", email="siti@example.id"),
        registered_at=datetime.now(UTC),
    )


def course_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Capacity Building on Enhancing the Development of SMI",
        "kind": "capacity_building",
        "organizer_id": "ministry",
        "co_organizer_ids": ["colombo-plan"],
        "start_date": (TODAY + timedelta(days=10)).isoformat(),
        "end_date": (TODAY + timedelta(days=22)).isoformat(),
        "venues": ["Jakarta", "Bandung"],
        "province": "32",
        "capacity": 2,
        "language": "en",
        "sessions": [
            {
                "session_id": "opening",
                "title": "Opening",
                "day": (TODAY + timedelta(days=10)).isoformat(),
            },
            {
                "session_id": "bbt",
                "title": "Textiles",
                "kind": "site_visit",
                "host": "BBT",
                "day": (TODAY + timedelta(days=12)).isoformat(),
            },
        ],
    }
    body.update(overrides)
    return body
