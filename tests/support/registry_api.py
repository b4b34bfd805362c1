"""What the registry's HTTP tests share: request bodies for an enterprise and an MoU, fresh
partner ids, the events the registry published, and its service (``registry_service``, a
module's fixture with ``pytest.fixture``)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import date, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from contracts.base import Event
from ikmkit.messaging.cloudevents import decode
from ikmkit.store.sqlite import SqliteStore
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from tests.support.service import RunningService, auth_headers, running_service
from tests.support.values import random_nib


def new_partner_id() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def enterprise_body(nib: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nib": nib or random_nib(),
        "name": "CV Maju Logam",
        "legal_form": "CV",
        "owner_name": "Budi Santoso",
        "owner_nik": "3471010105900001",
        "owner_phone": "0812-3456-7890",
        "owner_email": "budi@example.id",
        "street": "Jl. Malioboro 1",
        "province": "34",
        "regency": "3471",
        "kbli": "29300",
        "workforce": 10,
        "investment_rupiah": 500_000_000,
        "products": ["knalpot"],
        "campaigns": ["#SemuanyaAdaDisini"],
    }
    return {**body, **overrides}


def mou_body(*partner_ids: str, **overrides: Any) -> dict[str, Any]:
    today = date.today()
    body: dict[str, Any] = {
        "title": "Pendampingan teknis IKM",
        "scope": "technical_assistance",
        "parties": [{"partner_id": "ministry"}, *({"partner_id": p} for p in partner_ids)],
        "valid_from": (today - timedelta(days=30)).isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
        "document_ref": "NK/IKMA/001",
    }
    return {**body, **overrides}


MINISTRY = auth_headers("ministry")


async def read_events(
    kafka: str, topic: str, key: str, *, until: Callable[[list[Event]], bool], timeout: float = 20
) -> list[Event]:
    """The events of one aggregate on a topic, from the beginning, until ``until`` holds.

    Delivery is at-least-once (a relay pass may publish again), so repeats of an event id are
    dropped, as every consumer does."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka,
        group_id=None,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=5,  # the embedded broker answers only at the max wait (read_topic)
    )
    await consumer.start()
    found: list[Event] = []
    seen: set[str] = set()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not until(found) and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    if record.key != key.encode():
                        continue
                    envelope = decode(record.headers, record.value)
                    if envelope.attrs.id not in seen:
                        seen.add(envelope.attrs.id)
                        found.append(envelope.event)
    finally:
        await consumer.stop()
    return found


def names(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


async def registry_service(
    kafka: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningService]:
    store = SqliteStore(tmp_path_factory.mktemp("registry") / "registry.db")
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    async with running_service(definition(settings, store=store)) as service:
        yield service
