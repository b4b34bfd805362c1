"""A regional system that retries ``POST /partners`` (without a ``partner_id``) or
``POST /mous`` after a timeout made a second record and a second event (insights counted the
partner twice). With an ``Idempotency-Key`` the retry answers the first response; the key is
kept with the effect, in its transaction, on every store adapter (SQLite, MongoDB)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from contracts.registry import PARTNER_TOPIC
from ikmkit.store import Store
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from tests.support.registry_api import MINISTRY, mou_body, names, read_events
from tests.support.service import RunningService, auth_headers, running_service

SERVICE = auth_headers("service")
PARTNER = {"name": "Yayasan Dharma Bhakti Astra", "partner_type": "foundation", "province": "34"}


@pytest.fixture
async def registry(kafka: str, fresh_store: Store) -> AsyncIterator[RunningService]:
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    async with running_service(definition(settings, store=fresh_store)) as service:
        yield service


def keyed(key: str, headers: dict[str, str] = MINISTRY) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def post(client: httpx.AsyncClient, path: str, body: Any, key: str) -> httpx.Response:
    return await client.post(path, json=body, headers=keyed(key))


def header_rules(response: httpx.Response) -> list[tuple[str, str, str]]:
    assert response.status_code == 422, response.text
    return [(e["in"], e["parameter"], e["rule"]) for e in response.json()["errors"]]


async def listed(client: httpx.AsyncClient, path: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get(path, headers=MINISTRY)).json()["items"]
    return items


async def test_a_retried_partner_registration_answers_the_first_partner(
    registry: RunningService, kafka: str
) -> None:
    client = registry.client
    first = await post(client, "/partners", PARTNER, '"8e03978e-40d5-43e8-bc93-6894a57f9324"')
    again = await post(client, "/partners", PARTNER, '"8e03978e-40d5-43e8-bc93-6894a57f9324"')
    assert (first.status_code, again.status_code) == (201, 201), again.text
    assert again.json() == first.json()
    assert [p["partner_id"] for p in await listed(client, "/partners")] == [
        first.json()["partner_id"]
    ]
    # Another caller's key of the same value is its own: a partner of its own.
    other = await client.post("/partners", json=PARTNER, headers=keyed("k-1", SERVICE))
    mine = await post(client, "/partners", PARTNER, "k-1")
    assert other.json()["partner_id"] != mine.json()["partner_id"]
    events = await read_events(
        kafka, PARTNER_TOPIC, first.json()["partner_id"], until=lambda e: len(e) > 1, timeout=3
    )
    assert names(events) == ["PartnerRegistered"]


async def test_a_key_sent_again_with_another_body_is_refused(registry: RunningService) -> None:
    client = registry.client
    registered = await post(client, "/partners", PARTNER, "k-2")
    assert registered.status_code == 201, registered.text
    changed = await post(client, "/partners", {**PARTNER, "province": "31"}, "k-2")
    assert header_rules(changed) == [
        ("header", "Idempotency-Key", "invalid.idempotency_key_reused")
    ]
    bad = await post(client, "/partners", PARTNER, '"unterminated')
    assert header_rules(bad) == [("header", "Idempotency-Key", "invalid.idempotency_key_format")]
    assert len(await listed(client, "/partners")) == 1
    # A refusal stores no key (it rolled back with the rest): corrected, the key is free.
    refused = await post(client, "/mous", mou_body("nobody"), "k-5")
    assert refused.status_code == 422, refused.text
    corrected = mou_body(registered.json()["partner_id"])
    assert (await post(client, "/mous", corrected, "k-5")).status_code == 201


async def test_racing_retries_of_an_mou_draft_make_one_mou(registry: RunningService) -> None:
    client = registry.client
    partner = await post(client, "/partners", {**PARTNER, "partner_id": "ydba"}, "k-3")
    assert partner.status_code == 201, partner.text
    body = mou_body("ydba")
    answers = await asyncio.gather(*(post(client, "/mous", body, "k-4") for _ in range(3)))
    assert [a.status_code for a in answers] == [201, 201, 201], [a.text for a in answers]
    assert len({a.json()["mou_id"] for a in answers}) == 1
    assert [m["mou_id"] for m in await listed(client, "/mous")] == [answers[0].json()["mou_id"]]
    # Without a key, a retry is a second request: a second draft, as before.
    assert (await client.post("/mous", json=body, headers=MINISTRY)).status_code == 201
    assert len(await listed(client, "/mous")) == 2
