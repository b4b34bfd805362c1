"""The first slice through the running stack: registry -> Kafka -> notify inbox, exactly once.

The duplicate is made the way a relay makes one: after a crash between publishing
and marking sent, the very same record (same ce_id, headers and bytes) is published again.
"""

from __future__ import annotations

import uuid

import httpx

from contracts.registry import ENTERPRISE_TOPIC
from tests.support.kafka import eventually, produce, read_topic
from tests.support.registry_api import enterprise_body
from tests.support.service import auth_headers
from tests.support.stack import Stack

MINISTRY = auth_headers("ministry")


async def inbox(client: httpx.AsyncClient, stack: Stack, nib: str) -> list[dict[str, object]]:
    response = await client.get(
        f"{stack.urls['notify']}/inbox", params={"recipient": f"enterprise:{nib}"}, headers=MINISTRY
    )
    response.raise_for_status()
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_a_registration_notifies_the_owner_once_even_if_published_twice(
    stack: Stack, kafka: str
) -> None:
    nib = str(uuid.uuid4().int)[:13]
    async with httpx.AsyncClient(timeout=10) as client:
        created = await client.post(
            f"{stack.urls['registry']}/enterprises", json=enterprise_body(nib), headers=MINISTRY
        )
        assert created.status_code == 201, created.text

        async def published() -> list:
            return [r for r in await read_topic(kafka, ENTERPRISE_TOPIC) if r.key == nib.encode()]

        [record] = await eventually(published)
        first = await eventually(lambda: inbox(client, stack, nib))
        assert len(first) == 1

        duplicates_before = await _duplicates_seen(client, stack)
        await produce(kafka, ENTERPRISE_TOPIC, record.value, list(record.headers), record.key)
        # notify has consumed the copy once its inbox reports one more duplicate skipped
        await eventually(lambda: _more_than(client, stack, duplicates_before))
        again = await inbox(client, stack, nib)
    assert [m["id"] for m in again] == [m["id"] for m in first]


async def _duplicates_seen(client: httpx.AsyncClient, stack: Stack) -> float:
    metrics = (await client.get(f"{stack.urls['notify']}/metrics")).text
    prefix = 'ikm_events_duplicate_total{group="notify"}'
    return sum(float(line.split()[-1]) for line in metrics.splitlines() if line.startswith(prefix))


async def _more_than(client: httpx.AsyncClient, stack: Stack, before: float) -> bool:
    return await _duplicates_seen(client, stack) > before
