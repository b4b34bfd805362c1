"""Registry use cases on an in-memory store and the real outbox (no Kafka): what each handler
stores, the events it records, and whom it refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.registry import (
    EnterpriseClassChanged,
    EnterpriseOnboardedToMarketplace,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
    MoUExpired,
    MoUSigned,
    MoUTerminated,
    PartnerRegistered,
)
from contracts.values import Role
from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.service.errors import Conflict, Forbidden, InvalidInput, InvalidInputs, NotFound
from ikmkit.unit_of_work import Units
from services.registry import queries
from services.registry.commands import (
    DraftMoU,
    ImportEnterprises,
    MoUQuery,
    RegisterEnterprise,
    RegisterPartner,
    SignMoU,
    StatusChange,
    TerminateMoU,
    UpdateEnterprise,
)
from services.registry.handlers import enterprises, imports, mous, partners
from services.registry.store import COLLECTIONS, RegistryUnit
from tests.support.units import memory_units, recorded_events

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MINISTRY = Caller("officer-pusat", "ministry")
NIB = "1234567890123"


def caller(role: Role, **claims: str) -> Caller:
    return Caller(f"test-{role}", role, **claims)


def enterprise(nib: str = NIB, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nib": nib,
        "name": "CV Maju Logam",
        "legal_form": "CV",
        "owner_name": "Budi Santoso",
        "owner_nik": "3471010105900001",
        "owner_phone": "0812-3456-7890",
        "province": "34",
        "regency": "3471",
        "kbli": "29300",
        "workforce": 10,
        "investment_rupiah": 500_000_000,
    }
    return {**body, **overrides}


@pytest.fixture
async def units() -> AsyncIterator[Units[RegistryUnit]]:
    async with memory_units(RegistryUnit, COLLECTIONS) as found:
        found.clock = fixed_clock(NOW)
        yield found


async def register(units: Units[RegistryUnit], nib: str = NIB, **overrides: Any) -> None:
    cmd = RegisterEnterprise.model_validate(enterprise(nib, **overrides))
    await units.run(enterprises.register_enterprise, cmd, MINISTRY)


def kinds(events: list[Any]) -> list[type]:
    return [type(e) for e in events]


# --- enterprises ------------------------------------------------------------------------------


async def test_register_stores_the_enterprise_and_records_its_events(
    units: Units[RegistryUnit],
) -> None:
    stores = [{"platform": "Shopee", "shop_url": "https://shopee.co.id/maju"}]
    await register(units, marketplace_stores=stores)
    stored = await units.read(queries.get_enterprise, NIB, MINISTRY)
    assert (stored.status, stored.size_class, stored.version) == ("registered", "small", 1)
    assert stored.owner_phone == "+6281234567890"
    registered, onboarded = await recorded_events(units)
    assert isinstance(registered, EnterpriseRegistered) and registered.registered_at == NOW
    assert registered.owner.name == "Budi Santoso"
    assert isinstance(onboarded, EnterpriseOnboardedToMarketplace)
    assert onboarded.platform == "shopee"


async def test_a_second_registration_of_a_nib_names_the_first(units: Units[RegistryUnit]) -> None:
    await register(units)
    with pytest.raises(Conflict) as refused:
        await register(units, name="UD Lain")
    assert refused.value.rule == "duplicate" and "CV Maju Logam" in refused.value.message
    assert len(await recorded_events(units)) == 1


async def test_registration_refusals(units: Units[RegistryUnit]) -> None:
    cmd = RegisterEnterprise.model_validate(enterprise())
    with pytest.raises(Forbidden):
        await units.run(enterprises.register_enterprise, cmd, caller("regional", province="32"))
    with pytest.raises(Forbidden):
        await units.run(enterprises.register_enterprise, cmd, caller("enterprise", nib=NIB))
    bad = RegisterEnterprise.model_validate(enterprise(kbli="47111"))
    with pytest.raises(InvalidInput) as refused:
        await units.run(enterprises.register_enterprise, bad, MINISTRY)
    assert (refused.value.field, refused.value.rule) == ("kbli", "kbli_not_manufacturing")
    assert await recorded_events(units) == []


async def test_a_registration_breaking_several_rules_names_every_one(
    units: Units[RegistryUnit],
) -> None:
    bad = RegisterEnterprise.model_validate(enterprise(kbli="47111", regency="3201"))
    with pytest.raises(InvalidInputs) as refused:
        await units.run(enterprises.register_enterprise, bad, MINISTRY)
    named = {(v.field, v.rule) for v in refused.value.violations}
    assert named == {("kbli", "kbli_not_manufacturing"), ("regency", "regency_not_in_province")}
    assert await recorded_events(units) == []


async def test_verify_records_who_verified(units: Units[RegistryUnit]) -> None:
    await register(units)
    officer = caller("regional", province="34")
    verified = await units.run(enterprises.verify_enterprise, NIB, officer)
    assert (verified.status, verified.verified_by, verified.version) == (
        "active",
        "test-regional",
        2,
    )
    event = (await recorded_events(units))[-1]
    assert isinstance(event, EnterpriseVerified)
    assert (event.verified_by, event.verified_at) == ("test-regional", NOW)
    with pytest.raises(Conflict):
        await units.run(enterprises.verify_enterprise, NIB, officer)


async def test_officer_actions_are_refused_to_others(units: Units[RegistryUnit]) -> None:
    await register(units)
    with pytest.raises(NotFound):  # another province's enterprise is not revealed
        await units.run(enterprises.verify_enterprise, NIB, caller("regional", province="32"))
    with pytest.raises(Forbidden):
        await units.run(enterprises.verify_enterprise, NIB, caller("service"))
    with pytest.raises(NotFound):
        await units.run(enterprises.verify_enterprise, "9999999999999", MINISTRY)


async def test_update_records_the_change_and_the_new_class(units: Units[RegistryUnit]) -> None:
    await register(units)
    grow = UpdateEnterprise(version=1, workforce=45, investment_rupiah=2_000_000_000)
    updated = await units.run(enterprises.update_enterprise, NIB, grow, MINISTRY)
    assert (updated.size_class, updated.version) == ("medium", 2)
    changed, class_changed = (await recorded_events(units))[1:]
    assert isinstance(changed, EnterpriseUpdated) and changed.owner is None
    assert sorted(changed.changed_fields) == ["investment_rupiah", "workforce"]
    assert isinstance(class_changed, EnterpriseClassChanged)
    assert (class_changed.previous_class, class_changed.new_class) == ("small", "medium")
    same = await units.run(
        enterprises.update_enterprise, NIB, UpdateEnterprise(version=2), MINISTRY
    )
    assert same.version == 2 and len(await recorded_events(units)) == 3
    with pytest.raises(Conflict) as stale:
        await units.run(enterprises.update_enterprise, NIB, grow, MINISTRY)
    assert stale.value.rule == "version_conflict"
    with pytest.raises(NotFound):
        await units.run(enterprises.update_enterprise, NIB, grow, caller("enterprise", nib="1"))


async def test_suspend_and_reinstate(units: Units[RegistryUnit]) -> None:
    await register(units)
    suspended = await units.run(
        enterprises.suspend_enterprise, NIB, StatusChange(reason=" audit "), MINISTRY
    )
    assert (suspended.status, suspended.status_reason) == ("suspended", "audit")
    back = await units.run(
        enterprises.reinstate_enterprise, NIB, StatusChange(reason="ok"), MINISTRY
    )
    assert back.status == "registered"
    events = (await recorded_events(units))[1:]
    assert kinds(events) == [EnterpriseSuspended, EnterpriseReinstated]
    assert events[0].suspended_by == "officer-pusat"  # type: ignore[attr-defined]
    assert events[1].status == "registered"  # type: ignore[attr-defined]
    with pytest.raises(Conflict):
        await units.run(enterprises.reinstate_enterprise, NIB, StatusChange(reason="x"), MINISTRY)


# --- partners and MoUs ------------------------------------------------------------------------


async def signed_mou(units: Units[RegistryUnit], valid_until: date) -> str:
    for pid in ("ydba", "ypti"):
        cmd = RegisterPartner.model_validate(
            {"partner_id": pid, "name": pid, "partner_type": "foundation"}
        )
        await units.run(partners.register_partner, cmd, MINISTRY)
    draft = DraftMoU.model_validate(
        {
            "title": "Ayah angkat",
            "scope": "supply_chain_partnership",
            "parties": [
                {"partner_id": "ydba"},
                {"partner_id": "ypti"},
                {"partner_id": "ministry", "role": "witness"},
            ],
            "valid_from": (NOW.date() - timedelta(days=30)).isoformat(),
            "valid_until": valid_until.isoformat(),
        }
    )
    mou = await units.run(mous.draft_mou, draft, caller("partner", partner_id="ydba"))
    assert mou.status == "draft"
    signed = await units.run(mous.sign_mou, mou.mou_id, SignMoU(document_ref="NK/1"), MINISTRY)
    assert (signed.status, signed.signed_on) == ("signed", NOW.date())
    return mou.mou_id


async def test_partner_and_mou_sign_then_terminate(units: Units[RegistryUnit]) -> None:
    mou_id = await signed_mou(units, NOW.date() + timedelta(days=30))
    with pytest.raises(NotFound):  # not a party: not revealed
        await units.run(
            mous.terminate_mou, mou_id, TerminateMoU(reason="x"), caller("partner", partner_id="p")
        )
    ended = await units.run(
        mous.terminate_mou,
        mou_id,
        TerminateMoU(reason="merged"),
        caller("partner", partner_id="ypti"),
    )
    assert (ended.status, ended.terminated_by) == ("terminated", "test-partner")
    events = await recorded_events(units)
    assert kinds(events) == [PartnerRegistered, PartnerRegistered, MoUSigned, MoUTerminated]
    assert events[2].parties[2].role == "witness"  # type: ignore[attr-defined]
    listed = await units.read(queries.list_mous, MoUQuery(party="ydba"), MINISTRY)
    assert [(m.mou_id, m.status) for m in listed.items] == [(mou_id, "terminated")]


async def test_mou_refusals(units: Units[RegistryUnit]) -> None:
    mou_id = await signed_mou(units, NOW.date() + timedelta(days=30))
    with pytest.raises(Forbidden):
        await units.run(mous.sign_mou, mou_id, SignMoU(), caller("partner", partner_id="ydba"))
    unknown = DraftMoU.model_validate(
        {
            "title": "t",
            "scope": "training",
            "parties": [{"partner_id": "ministry"}, {"partner_id": "p-never"}],
            "valid_from": "2026-01-01",
            "valid_until": "2027-01-01",
        }
    )
    with pytest.raises(InvalidInput) as refused:
        await units.run(mous.draft_mou, unknown, MINISTRY)
    assert refused.value.rule == "unknown_partner"
    with pytest.raises(Forbidden):
        await units.run(mous.draft_mou, unknown, caller("partner", partner_id="ydba"))


async def test_mous_expire_the_day_after_their_end(units: Units[RegistryUnit]) -> None:
    mou_id = await signed_mou(units, NOW.date() + timedelta(days=5))
    units.clock = fixed_clock(NOW + timedelta(days=5))
    assert await mous.expire_due_mous(units) == []  # the end date itself is still valid
    units.clock = fixed_clock(NOW + timedelta(days=6))
    assert await mous.expire_due_mous(units) == [mou_id]
    assert await mous.expire_due_mous(units) == []
    expired = (await recorded_events(units))[-1]
    assert isinstance(expired, MoUExpired) and expired.mou_id == mou_id
    assert (await units.read(queries.get_mou, mou_id, MINISTRY)).status == "expired"


# --- bulk import ------------------------------------------------------------------------------


def import_of(*rows: dict[str, Any]) -> ImportEnterprises:
    return ImportEnterprises.model_validate({"rows": list(rows)})


async def test_import_answers_row_by_row(units: Units[RegistryUnit]) -> None:
    await register(units, "1000000000001")
    cmd = import_of(
        enterprise("1000000000002"),
        enterprise("1000000000001"),
        enterprise("12345", kbli="47111", owner_nik="3471019905900001"),
        enterprise("1000000000002", name="again"),
        {"nib": "1000000000003", "name": "UD Tanpa Wilayah", "owner_name": "Ani"},
    )
    result = await units.run(imports.import_enterprises, cmd, MINISTRY)
    assert (result.rows, result.imported, result.existing, result.rejected) == (5, 1, 1, 3)
    statuses = [(r.index, r.nib, r.status) for r in result.results]
    assert statuses == [
        (0, "1000000000002", "imported"),
        (1, "1000000000001", "existing"),
        (2, "12345", "rejected"),
        (3, "1000000000002", "rejected"),
        (4, "1000000000003", "rejected"),
    ]
    broken = {(e.field, e.rule) for e in result.results[2].errors or []}
    assert broken == {
        ("nib", "nib_format"),
        ("kbli", "kbli_not_manufacturing"),
        ("owner_nik", "nik_birth_date"),
    }
    assert all(e.message for e in result.results[2].errors or [])
    assert [(e.field, e.rule) for e in result.results[3].errors or []] == [
        ("nib", "duplicate_in_file")
    ]
    missing = {(e.field, e.rule) for e in result.results[4].errors or []}
    assert missing == {
        (f, "missing") for f in ("province", "regency", "kbli", "workforce", "investment_rupiah")
    }
    events = await recorded_events(units)
    assert kinds(events) == [EnterpriseRegistered, EnterpriseRegistered]
    again = await units.run(
        imports.import_enterprises, import_of(enterprise("1000000000002")), MINISTRY
    )
    assert (again.imported, again.existing) == (0, 1)
    assert len(await recorded_events(units)) == 2


async def test_import_by_a_regional_officer_rejects_other_provinces(
    units: Units[RegistryUnit],
) -> None:
    cmd = import_of(
        enterprise("1000000000001"),
        enterprise("1000000000002", province="32", regency="3273"),
    )
    officer = caller("regional", province="34")
    result = await units.run(imports.import_enterprises, cmd, officer)
    assert [r.status for r in result.results] == ["imported", "rejected"]
    assert [(e.field, e.rule) for e in result.results[1].errors or []] == [
        ("province", "forbidden_province")
    ]
    for role in ("partner", "enterprise"):
        with pytest.raises(Forbidden):
            await units.run(imports.import_enterprises, cmd, caller(role))  # type: ignore[arg-type]


async def test_an_import_row_with_text_for_a_number_is_rejected_alone(
    units: Units[RegistryUnit],
) -> None:
    cmd = import_of(enterprise("1000000000001"), enterprise("1000000000002", workforce="many"))
    result = await units.run(imports.import_enterprises, cmd, MINISTRY)
    assert [r.status for r in result.results] == ["imported", "rejected"]
    assert [(e.field, e.rule) for e in result.results[1].errors or []] == [
        ("workforce", "int_parsing")
    ]


async def test_an_import_row_whose_number_came_as_text_is_checked_as_the_number(
    units: Units[RegistryUnit],
) -> None:
    # Found by the API fuzzer: a broken field beside a number sent as digits in text ("0000")
    # reached the domain's rules as text, and the request answered 500.
    row = enterprise("12345", workforce="many", investment_rupiah="0000")
    row["marketplace_stores"] = [{"platform": "tokopedia", "shop_url": "https://tokopedia.com/a"}]
    result = await units.run(imports.import_enterprises, import_of(row), MINISTRY)
    assert [r.status for r in result.results] == ["rejected"]
    assert {(e.field, e.rule) for e in result.results[0].errors or []} == {
        ("nib", "nib_format"),
        ("workforce", "int_parsing"),
    }
