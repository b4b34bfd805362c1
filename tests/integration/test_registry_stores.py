"""The registry's listings answer the same on every store adapter (SQLite, MongoDB over the
wire): its filters on the rows it repeats for them (tags of enterprises, parties of MoUs)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.store import Store
from ikmkit.unit_of_work import Units
from services.registry import queries
from services.registry.commands import (
    DraftMoU,
    EnterpriseQuery,
    ImportEnterprises,
    MoUQuery,
    RegisterPartner,
    SignMoU,
)
from services.registry.handlers import enterprises, imports, mous, partners
from services.registry.store import COLLECTIONS, ENTERPRISE_TAGS, RegistryUnit
from tests.support.registry_api import enterprise_body

MINISTRY = Caller("officer-pusat", "ministry")
YDBA = Caller("ydba-admin", "partner", partner_id="ydba")


@pytest.fixture
async def units(fresh_store: Store) -> AsyncIterator[Units[RegistryUnit]]:
    await fresh_store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    found = Units(fresh_store, Outbox("/ikm/registry"), RegistryUnit)
    found.clock = fixed_clock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    yield found


async def draft(units: Units[RegistryUnit], province: str | None) -> str:
    parties = [{"partner_id": "ministry"}, {"partner_id": "ydba"}, {"partner_id": "ypti"}]
    body = {
        "title": "Ayah angkat",
        "scope": "supply_chain_partnership",
        "parties": parties,
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "document_ref": "NK/1",
        "province": province,
    }
    return (await units.run(mous.draft_mou, DraftMoU.model_validate(body), MINISTRY)).mou_id


async def test_a_partys_mous_filter_by_province_and_status(units: Units[RegistryUnit]) -> None:
    for partner_id in ("ydba", "ypti"):
        cmd = RegisterPartner(partner_id=partner_id, name=partner_id, partner_type="foundation")
        await units.run(partners.register_partner, cmd, MINISTRY)
    yogya, jakarta, _national = [await draft(units, p) for p in ("34", "31", None)]
    await units.run(mous.sign_mou, jakarta, SignMoU(), MINISTRY)

    async def listed(query: MoUQuery, caller: Caller = YDBA) -> list[str]:
        return [m.mou_id for m in (await units.read(queries.list_mous, query, caller)).items]

    assert await listed(MoUQuery(province="34")) == [yogya]
    assert await listed(MoUQuery(province="31", status="signed")) == [jakarta]
    assert await listed(MoUQuery(province="31", status="draft")) == []
    assert await listed(MoUQuery(party="ypti", province="34"), MINISTRY) == [yogya]


async def test_enterprises_by_platform_and_campaign_page_through(
    units: Units[RegistryUnit],
) -> None:
    shop = {"platform": "shopee", "shop_url": "https://shopee.co.id/x"}
    nibs = [f"12345678900{i:02d}" for i in range(5)]
    rows = [
        enterprise_body(nib, marketplace_stores=[shop] if i % 2 == 0 else [])
        for i, nib in enumerate(nibs)
    ]
    cmd = ImportEnterprises.model_validate({"rows": rows})
    assert (await units.run(imports.import_enterprises, cmd, MINISTRY)).imported == 5
    pages: list[list[str]] = []
    cursor = None
    while True:
        query = EnterpriseQuery(
            campaign="SemuanyaAdaDisini", marketplace_platform="shopee", limit=2, cursor=cursor
        )
        page = await units.read(queries.list_enterprises, query, MINISTRY)
        pages.append([e.nib for e in page.items])
        if (cursor := page.next_cursor) is None:
            break
    assert pages == [[nibs[0], nibs[2]], [nibs[4]]]
    stats = await units.read(queries.stats, MINISTRY)
    assert (stats.enterprises_total, stats.enterprises_by_province) == (5, {"34": 5})


async def listed_in(units: Units[RegistryUnit], campaign: str) -> list[str]:
    query = EnterpriseQuery(campaign=campaign)
    return [e.nib for e in (await units.read(queries.list_enterprises, query, MINISTRY)).items]


async def test_a_campaign_lists_its_enterprises_whatever_the_spelling(
    units: Units[RegistryUnit],
) -> None:
    nibs = ["1234567890010", "1234567890011"]
    spellings = [["#SemuanyaAdaDisini"], ["#semuanyaadadisini", " SEMUANYAADADISINI "]]
    rows = [enterprise_body(n, campaigns=c) for n, c in zip(nibs, spellings, strict=True)]
    cmd = ImportEnterprises.model_validate({"rows": rows})
    assert (await units.run(imports.import_enterprises, cmd, MINISTRY)).imported == 2
    for spelling in ("#SemuanyaAdaDisini", "semuanyaadadisini", "\uff03SEMUANYAadaDisini"):
        assert await listed_in(units, spelling) == nibs
    stored = await units.read(queries.list_enterprises, EnterpriseQuery(), MINISTRY)
    assert [e.campaigns for e in stored.items] == [["#SemuanyaAdaDisini"], ["#semuanyaadadisini"]]


async def test_tag_rows_stored_under_a_spelling_are_keyed_once(
    units: Units[RegistryUnit], fresh_store: Store
) -> None:
    nibs = [f"12345678900{i:02d}" for i in range(7)]
    cmd = ImportEnterprises.model_validate({"rows": [enterprise_body(n) for n in nibs]})
    await units.run(imports.import_enterprises, cmd, MINISTRY)

    # The rows a release before campaign_key wrote: under the spelling typed, one per spelling.
    def old_row(nib: str, tag: str) -> dict[str, Any]:
        filters = {"province": "34", "regency": "3471", "kbli": "29300", "status": "registered"}
        return {"id": f"{nib}|{tag}", "nib": nib, "tag": tag, **filters, "size_class": "small"}

    rows = [old_row(n, "campaign:#SemuanyaAdaDisini") for n in nibs]
    rows.append(old_row(nibs[0], "campaign:#SEMUANYAADADISINI"))
    async with fresh_store.transaction() as tx:
        for n in nibs:
            await tx.delete(ENTERPRISE_TAGS, f"{n}|campaign:#semuanyaadadisini")
        await tx.insert_many(ENTERPRISE_TAGS, rows)
    assert await listed_in(units, "#semuanyaadadisini") == []

    assert await enterprises.key_campaign_rows(units, batch=3) is True
    assert await listed_in(units, "#SemuanyaAdaDisini") == nibs
    async with fresh_store.transaction(read_only=True) as tx:
        found = await tx.find(ENTERPRISE_TAGS, {"nib": nibs[0]})
    assert [r["tag"] for r in found.items] == ["campaign:#semuanyaadadisini"]
    assert await enterprises.key_campaign_rows(units) is False  # marked: no second scan
