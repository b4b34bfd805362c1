"""Registry edits a review found answered wrongly (session 24): a PATCH with a number written as
text, and marketplace stores named twice or sent again unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from contracts.registry import ENTERPRISE_TOPIC
from ikmkit.store.sqlite import SqliteStore
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from tests.support.registry_api import MINISTRY, enterprise_body, names, read_events
from tests.support.service import RunningService, running_service
from tests.support.values import random_nib


@pytest.fixture
async def registry(kafka: str, tmp_path: Path) -> AsyncIterator[RunningService]:
    store = SqliteStore(tmp_path / "registry.db")
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    async with running_service(definition(settings, store=store)) as service:
        yield service


SHOP = {"platform": "shopee", "shop_url": "https://shopee.co.id/maju"}


async def test_a_patch_with_a_number_written_as_text_is_read_as_post_reads_it(
    registry: RunningService,
) -> None:
    client, nib = registry.client, random_nib()
    created = await client.post("/enterprises", json=enterprise_body(nib), headers=MINISTRY)
    assert created.status_code == 201, created.text
    # POST /enterprises reads "25" as 25; PATCH answered a 500 (a text compared with 0).
    changed = await client.patch(
        f"/enterprises/{nib}", json={"version": 1, "workforce": "25"}, headers=MINISTRY
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["workforce"], changed.json()["size_class"]) == (25, "medium")
    wrong = {"version": 2, "workforce": "dua puluh", "investment_rupiah": "1.000.000"}
    refused = await client.patch(f"/enterprises/{nib}", json=wrong, headers=MINISTRY)
    assert refused.status_code == 422, refused.text
    pointers = {e["pointer"]: e["rule"] for e in refused.json()["errors"]}
    assert pointers == {
        "#/workforce": "int_parsing",
        "#/investment_rupiah": "int_parsing",
    }


async def test_a_store_named_twice_is_one_store_onboarded_once(
    kafka: str, registry: RunningService
) -> None:
    client, nib = registry.client, random_nib()
    again = {"platform": "Shopee", "shop_url": "https://shopee.co.id/maju/"}
    body = enterprise_body(nib, marketplace_stores=[SHOP, again])
    created = await client.post("/enterprises", json=body, headers=MINISTRY)
    assert created.status_code == 201, created.text
    assert [s["shop_url"] for s in created.json()["marketplace_stores"]] == [SHOP["shop_url"]]
    # Sending the stores it has again changes nothing: no version, no EnterpriseUpdated.
    same = await client.patch(
        f"/enterprises/{nib}",
        json={"version": 1, "marketplace_stores": [SHOP, again]},
        headers=MINISTRY,
    )
    assert same.status_code == 200, same.text
    assert same.json()["version"] == 1
    renamed = await client.patch(
        f"/enterprises/{nib}", json={"version": 1, "name": "CV Maju Jaya"}, headers=MINISTRY
    )
    assert renamed.json()["version"] == 2

    def ended(events: list[object]) -> bool:
        return "EnterpriseUpdated" in names(events)  # type: ignore[arg-type]

    events = await read_events(kafka, ENTERPRISE_TOPIC, nib, until=ended)
    assert names(events) == [
        "EnterpriseRegistered",
        "EnterpriseOnboardedToMarketplace",
        "EnterpriseUpdated",
    ]
    assert events[2].changed_fields == ["name"]  # type: ignore[attr-defined]
