"""A ministry system or an enterprise that times out on ``POST /programs`` or
``POST /applications`` and sends it again created a second program (with its own budgets:
the money announced twice) or a second application. Both routes take ``Idempotency-Key`` as
the registry's creating routes do (docs/registry.md): a retry answers the first response."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ikmkit.store.sqlite import SqliteStore
from services.subsidy.main import definition
from services.subsidy.settings import SubsidySettings
from tests.support.service import auth_headers, running_service
from tests.support.subsidy_api import MINISTRY, machine, program_body
from tests.support.subsidy_replica import add_enterprises

KEY = {"Idempotency-Key": '"8e03978e-40d5-43e8-bc93-6894a57f9324"'}


@pytest.fixture
async def service(kafka: str, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    store = SqliteStore(tmp_path / "subsidy.db")
    settings = SubsidySettings(kafka_bootstrap_servers=kafka)
    async with running_service(definition(settings, store=store)) as running:
        (nib,) = await add_enterprises(store, 1)
        yield running.client, nib


async def test_a_program_sent_again_with_its_key_is_created_once(
    service: tuple[httpx.AsyncClient, str],
) -> None:
    client, _ = service
    body = program_body(name="Restrukturisasi Mesin 2026")
    first = await client.post("/programs", json=body, headers={**MINISTRY, **KEY})
    again = await client.post("/programs", json=body, headers={**MINISTRY, **KEY})
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    listed = await client.get("/programs", headers=MINISTRY)
    assert [p["id"] for p in listed.json()["items"]] == [first.json()["id"]]
    budgets = await client.get("/budgets", headers=MINISTRY)
    assert sum(b["allocated_rupiah"] for b in budgets.json()["items"]) == 100_000_000

    other = await client.post(
        "/programs", json={**body, "name": "Lain"}, headers={**MINISTRY, **KEY}
    )
    assert other.status_code == 422
    assert other.json()["errors"][0]["rule"] == "invalid.idempotency_key_reused"


async def test_an_application_sent_again_with_its_key_is_submitted_once(
    service: tuple[httpx.AsyncClient, str],
) -> None:
    client, nib = service
    program = (await client.post("/programs", json=program_body(), headers=MINISTRY)).json()
    owner = {**auth_headers("enterprise", nib=nib), **KEY}
    body = {"program_id": program["id"], "nib": nib, "lines": [machine(50_000_000)]}
    first = await client.post("/applications", json=body, headers=owner)
    again = await client.post("/applications", json=body, headers=owner)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    mine = await client.get("/applications", params={"enterprise": nib}, headers=MINISTRY)
    assert [a["id"] for a in mine.json()["items"]] == [first.json()["id"]]
