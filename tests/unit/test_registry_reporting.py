"""Registry gaps of issue #13 on an in-memory store and the real outbox: the partner listing,
partner and MoU imports, MoU location, association member counts, and the marketplace and
campaign filters of the enterprise listing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.registry import MoUSigned, MoUTerminated, PartnerRegistered
from contracts.values import Role
from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.service.errors import Forbidden, InvalidInput
from ikmkit.unit_of_work import Units
from services.registry import queries
from services.registry.commands import (
    DraftMoU,
    EnterpriseQuery,
    ImportedMoU,
    ImportMoUs,
    ImportPartners,
    MoUQuery,
    PartnerQuery,
    RegisterEnterprise,
    RegisterPartner,
    SignMoU,
    TerminateMoU,
    UpdateEnterprise,
)
from services.registry.handlers import enterprises, link_imports, mous, partners
from services.registry.store import COLLECTIONS, RegistryUnit
from tests.support.units import memory_units, recorded_events

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINISTRY = Caller("officer-pusat", "ministry")


def caller(role: Role, **claims: str) -> Caller:
    return Caller(f"test-{role}", role, **claims)


@pytest.fixture
async def units() -> AsyncIterator[Units[RegistryUnit]]:
    async with memory_units(RegistryUnit, COLLECTIONS) as found:
        found.clock = fixed_clock(NOW)
        yield found


async def partner(units: Units[RegistryUnit], partner_id: str, **fields: Any) -> None:
    body = {"partner_id": partner_id, "name": partner_id.upper(), "partner_type": "company"}
    cmd = RegisterPartner.model_validate(body | fields)
    await units.run(partners.register_partner, cmd, MINISTRY)


def mou_row(*party_ids: str, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "title": "Link and match SMK",
        "scope": "vocational_link_and_match",
        "parties": [{"partner_id": "ministry", "role": "witness"}]
        + [{"partner_id": p} for p in party_ids],
        "valid_from": "2026-01-01",
        "valid_until": "2028-12-31",
    }
    return row | fields


# --- partners: member count and listing -------------------------------------------------------


async def test_an_association_registers_its_member_count(units: Units[RegistryUnit]) -> None:
    await partner(
        units, "pii-bkti", partner_type="association", member_count=290, province="34",
        regency="3471",
    )  # fmt: skip
    stored = await units.read(queries.get_partner, "pii-bkti", MINISTRY)
    assert (stored.member_count, stored.regency) == (290, "3471")
    [event] = await recorded_events(units)
    assert isinstance(event, PartnerRegistered)
    assert (event.member_count, event.province, event.regency) == (290, "34", "3471")
    with pytest.raises(InvalidInput) as refused:
        await partner(units, "pt-astra", member_count=5)
    assert (refused.value.field, refused.value.rule) == ("member_count", "not_an_association")


async def test_partners_are_listed_by_type_country_and_province_page_by_page(
    units: Units[RegistryUnit],
) -> None:
    for n in range(3):
        await partner(units, f"smk-{n}", partner_type="vocational_school", province="34")
    await partner(units, "pt-jabar", province="32")
    await partner(units, "jica", partner_type="foreign_government", country="JP")
    first = await units.read(
        queries.list_partners, PartnerQuery(partner_type="vocational_school", limit=2), MINISTRY
    )
    assert [p.partner_id for p in first.items] == ["smk-0", "smk-1"]
    rest = await units.read(
        queries.list_partners,
        PartnerQuery(partner_type="vocational_school", limit=2, cursor=first.next_cursor),
        MINISTRY,
    )
    assert ([p.partner_id for p in rest.items], rest.next_cursor) == (["smk-2"], None)
    by_country = await units.read(queries.list_partners, PartnerQuery(country="JP"), MINISTRY)
    assert [p.partner_id for p in by_country.items] == ["jica"]
    regional = caller("regional", province="34")
    in_32 = await units.read(queries.list_partners, PartnerQuery(province="32"), regional)
    assert [p.partner_id for p in in_32.items] == ["pt-jabar"]
    itself = await units.read(
        queries.list_partners, PartnerQuery(), caller("partner", partner_id="smk-1")
    )
    assert [p.partner_id for p in itself.items] == ["smk-1"]
    with pytest.raises(Forbidden):
        await units.read(queries.list_partners, PartnerQuery(), caller("enterprise", nib="1"))


# --- MoU location -----------------------------------------------------------------------------


async def test_an_mou_carries_its_province_and_regency_into_its_events(
    units: Units[RegistryUnit],
) -> None:
    await partner(units, "smk-1", partner_type="vocational_school")
    await partner(units, "pt-astra")
    draft = DraftMoU.model_validate(
        mou_row("smk-1", "pt-astra", province="34", regency="3471", document_ref="NK/1")
    )
    mou = await units.run(mous.draft_mou, draft, MINISTRY)
    assert (mou.province, mou.regency) == ("34", "3471")
    await units.run(mous.sign_mou, mou.mou_id, SignMoU(), MINISTRY)
    await units.run(mous.terminate_mou, mou.mou_id, TerminateMoU(reason="closed"), MINISTRY)
    signed, terminated = (e for e in await recorded_events(units) if e.TOPIC.endswith("mou.v1"))
    assert isinstance(signed, MoUSigned) and isinstance(terminated, MoUTerminated)
    assert (signed.province, signed.regency) == ("34", "3471")
    assert (terminated.province, terminated.regency) == ("34", "3471")
    assert signed.region() == "34"
    listed = await units.read(queries.list_mous, MoUQuery(province="34"), MINISTRY)
    assert [m.mou_id for m in listed.items] == [mou.mou_id]
    assert (await units.read(queries.list_mous, MoUQuery(province="32"), MINISTRY)).items == []
    elsewhere = DraftMoU.model_validate(mou_row("smk-1", "pt-astra", province="32", regency="3471"))
    with pytest.raises(InvalidInput) as refused:
        await units.run(mous.draft_mou, elsewhere, MINISTRY)
    assert refused.value.field == "regency"


# --- imports ----------------------------------------------------------------------------------


async def test_partner_import_answers_row_by_row_and_is_idempotent(
    units: Units[RegistryUnit],
) -> None:
    await partner(units, "pt-astra")
    rows = [
        {"partner_id": "smk-1", "name": "SMK 1", "partner_type": "vocational_school",
         "province": "34", "regency": "3471"},
        {"partner_id": "pt-astra", "name": "PT Astra", "partner_type": "company"},
        {"partner_id": "Bad Id", "name": " ", "partner_type": "company", "country": "JP",
         "province": "34"},
        {"partner_id": "smk-1", "name": "SMK 1 again", "partner_type": "vocational_school"},
        {"partner_id": "pii-bkti", "name": "PII BKTI", "partner_type": "association",
         "member_count": "290"},
        {"name": "no id", "partner_type": "kingdom", "member_count": "many"},
    ]  # fmt: skip
    result = await units.run(
        link_imports.import_partners, ImportPartners.model_validate({"rows": rows}), MINISTRY
    )
    assert (result.rows, result.imported, result.existing, result.rejected) == (6, 2, 1, 3)
    assert [(r.index, r.partner_id, r.status) for r in result.results] == [
        (0, "smk-1", "imported"),
        (1, "pt-astra", "existing"),
        (2, "Bad Id", "rejected"),
        (3, "smk-1", "rejected"),
        (4, "pii-bkti", "imported"),
        (5, None, "rejected"),
    ]
    assert {(e.field, e.rule) for e in result.results[2].errors or []} == {
        ("partner_id", "partner_id_format"),
        ("province", "foreign_region"),
        ("name", "required"),
    }
    assert [(e.field, e.rule) for e in result.results[3].errors or []] == [
        ("partner_id", "duplicate_in_file")
    ]
    assert {(e.field, e.rule) for e in result.results[5].errors or []} == {
        ("partner_type", "literal_error"),
        ("member_count", "int_parsing"),
    }
    bkti = await units.read(queries.get_partner, "pii-bkti", MINISTRY)
    assert bkti.member_count == 290
    assert len(await recorded_events(units)) == 3
    again = await units.run(
        link_imports.import_partners, ImportPartners.model_validate({"rows": rows[:1]}), MINISTRY
    )
    assert (again.imported, again.existing) == (0, 1)
    assert len(await recorded_events(units)) == 3
    with pytest.raises(Forbidden):
        await units.run(
            link_imports.import_partners,
            ImportPartners.model_validate({"rows": rows[:1]}),
            caller("regional", province="34"),
        )


async def test_mou_import_drafts_signs_and_refuses_row_by_row(units: Units[RegistryUnit]) -> None:
    for pid in ("smk-1", "pt-astra"):
        await partner(units, pid)
    signed_row = mou_row(
        "smk-1", "pt-astra", signed_on="2026-02-01", document_ref="NK/7", province="34"
    )
    rows = [
        signed_row,
        mou_row("smk-1", "pt-astra", mou_id="lam-2026-002"),
        mou_row("smk-1", "pt-never", valid_until="2025-01-01"),
        mou_row("smk-1", "pt-astra", signed_on="2026-02-01"),
        signed_row,
        {"title": "x", "scope": "friendship", "valid_from": "someday"},
    ]
    result = await units.run(
        link_imports.import_mous, ImportMoUs.model_validate({"rows": rows}), MINISTRY
    )
    assert (result.rows, result.imported, result.existing, result.rejected) == (6, 2, 0, 4)
    first = result.results[0]
    assert first.status == "imported" and first.mou_id and first.mou_id.startswith("mou-")
    assert (result.results[1].mou_id, result.results[1].status) == ("lam-2026-002", "imported")
    assert {(e.field, e.rule) for e in result.results[2].errors or []} == {
        ("valid_until", "end_before_start"),
        ("parties", "unknown_partner"),
    }
    assert [(e.field, e.rule) for e in result.results[3].errors or []] == [
        ("document_ref", "required")
    ]
    assert [(e.field, e.rule) for e in result.results[4].errors or []] == [
        ("mou_id", "duplicate_in_file")
    ]
    assert {e.field for e in result.results[5].errors or []} >= {"scope", "valid_from"}
    signed = await units.read(queries.get_mou, first.mou_id, MINISTRY)
    assert (signed.status, signed.signed_on, signed.province) == ("signed", date(2026, 2, 1), "34")
    draft = await units.read(queries.get_mou, "lam-2026-002", MINISTRY)
    assert draft.status == "draft"
    by_party = await units.read(queries.list_mous, MoUQuery(party="pt-astra"), MINISTRY)
    assert {m.mou_id for m in by_party.items} == {first.mou_id, "lam-2026-002"}
    [event] = [e for e in await recorded_events(units) if isinstance(e, MoUSigned)]
    assert (event.mou_id, event.province) == (first.mou_id, "34")
    again = await units.run(
        link_imports.import_mous, ImportMoUs.model_validate({"rows": rows[:2]}), MINISTRY
    )
    assert (again.imported, again.existing, again.rejected) == (0, 2, 0)
    with pytest.raises(Forbidden):
        await units.run(
            link_imports.import_mous,
            ImportMoUs.model_validate({"rows": rows[:1]}),
            caller("partner", partner_id="smk-1"),
        )


# --- enterprise listing by marketplace platform and campaign -----------------------------------


def enterprise(nib: str, **fields: Any) -> RegisterEnterprise:
    body: dict[str, Any] = {
        "nib": nib, "name": f"CV {nib[-2:]}", "owner_name": "Budi", "province": "34",
        "regency": "3471", "kbli": "29300", "workforce": 10, "investment_rupiah": 500_000_000,
    }  # fmt: skip
    return RegisterEnterprise.model_validate(body | fields)


def store(platform: str) -> dict[str, str]:
    return {"platform": platform, "shop_url": f"https://{platform}.example/shop"}


async def listed(units: Units[RegistryUnit], who: Caller = MINISTRY, **query: Any) -> list[str]:
    found = await units.read(queries.list_enterprises, EnterpriseQuery(**query), who)
    return [e.nib for e in found.items]


async def test_enterprises_are_listed_by_platform_and_campaign(
    units: Units[RegistryUnit],
) -> None:
    campaign = "#SemuanyaAdaDisini"
    registrations = [
        enterprise("1000000000001", marketplace_stores=[store("tokopedia"), store("shopee")]),
        enterprise("1000000000002", marketplace_stores=[store("shopee")], campaigns=[campaign]),
        enterprise("1000000000003", campaigns=[campaign]),
        enterprise(
            "1000000000004", province="32", regency="3273", marketplace_stores=[store("shopee")]
        ),
    ]
    for cmd in registrations:
        await units.run(enterprises.register_enterprise, cmd, MINISTRY)
    assert await listed(units, marketplace_platform="shopee") == [
        "1000000000001", "1000000000002", "1000000000004",
    ]  # fmt: skip
    assert await listed(units, marketplace_platform="Tokopedia") == ["1000000000001"]
    assert await listed(units, campaign="SemuanyaAdaDisini") == ["1000000000002", "1000000000003"]
    assert await listed(units, campaign=campaign, marketplace_platform="shopee") == [
        "1000000000002"
    ]
    assert await listed(units, marketplace_platform="shopee", province="32") == ["1000000000004"]
    officer = caller("regional", province="34")
    assert await listed(units, officer, marketplace_platform="shopee") == [
        "1000000000001", "1000000000002",
    ]  # fmt: skip
    page = await units.read(
        queries.list_enterprises, EnterpriseQuery(marketplace_platform="shopee", limit=2), MINISTRY
    )
    rest = await units.read(
        queries.list_enterprises,
        EnterpriseQuery(marketplace_platform="shopee", limit=2, cursor=page.next_cursor),
        MINISTRY,
    )
    assert [e.nib for e in rest.items] == ["1000000000004"]
    with pytest.raises(InvalidInput) as refused:
        await listed(units, marketplace_platform="myspace")
    assert (refused.value.field, refused.value.rule) == ("marketplace_platform", "platform")


async def test_the_filters_follow_an_update_and_a_status_change(
    units: Units[RegistryUnit],
) -> None:
    nib = "1000000000009"
    cmd = enterprise(nib, marketplace_stores=[store("shopee")], campaigns=["#Lama"])
    await units.run(enterprises.register_enterprise, cmd, MINISTRY)
    change = UpdateEnterprise(version=1, marketplace_stores=[store("blibli")], campaigns=["#Baru"])  # type: ignore[arg-type]
    await units.run(enterprises.update_enterprise, nib, change, MINISTRY)
    assert await listed(units, marketplace_platform="shopee") == []
    assert await listed(units, campaign="#Lama") == []
    assert await listed(units, marketplace_platform="blibli", campaign="#Baru") == [nib]
    await units.run(enterprises.verify_enterprise, nib, MINISTRY)
    assert await listed(units, marketplace_platform="blibli", status="active") == [nib]
    assert await listed(units, marketplace_platform="blibli", status="registered") == []


def test_an_mou_row_id_is_derived_from_its_terms() -> None:
    one = ImportedMoU.model_validate(mou_row("a-1", "b-2"))
    same = ImportedMoU.model_validate(mou_row("a-1", "b-2"))
    other = ImportedMoU.model_validate(mou_row("a-1", "b-2", title="Other"))
    signed = ImportedMoU.model_validate(
        mou_row("a-1", "b-2", signed_on="2026-01-02", document_ref="NK/1")
    )
    assert link_imports.derived_mou_id(signed) == link_imports.derived_mou_id(one)
    assert link_imports.derived_mou_id(one) == link_imports.derived_mou_id(same)
    assert link_imports.derived_mou_id(one) != link_imports.derived_mou_id(other)
