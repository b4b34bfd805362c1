"""MoUs as a review found them answered wrongly (session 24): their days are Jakarta's (the
ministry's calendar), only their parties end them, a party's MoUs filter by province. Use cases
on an in-memory store and the real outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest

from contracts.registry import MoUExpired
from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.service.errors import Forbidden
from ikmkit.unit_of_work import Units
from services.registry import queries
from services.registry.commands import (
    DraftMoU,
    ImportMoUs,
    MoUQuery,
    RegisterPartner,
    SignMoU,
    TerminateMoU,
)
from services.registry.handlers import link_imports, mous, partners
from services.registry.store import COLLECTIONS, RegistryUnit
from tests.support.units import memory_units, recorded_events

MINISTRY = Caller("officer-pusat", "ministry")
EARLY_MORNING = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
"""06:30 WIB on 3 March in Jakarta, still 2 March in UTC."""
JAKARTA_TODAY = date(2026, 3, 3)
PARTIES = [
    {"partner_id": "ministry"},
    {"partner_id": "ydba"},
    {"partner_id": "ypti"},
    {"partner_id": "pii-bkti", "role": "witness"},
]


@pytest.fixture
async def units() -> AsyncIterator[Units[RegistryUnit]]:
    async with memory_units(RegistryUnit, COLLECTIONS) as found:
        found.clock = fixed_clock(EARLY_MORNING)
        for partner_id in ("ydba", "ypti", "pii-bkti"):
            cmd = RegisterPartner(partner_id=partner_id, name=partner_id, partner_type="company")
            await found.run(partners.register_partner, cmd, MINISTRY)
        yield found


def terms(**overrides: object) -> dict[str, object]:
    return {
        "title": "Ayah angkat IKM otomotif",
        "scope": "supply_chain_partnership",
        "parties": PARTIES,
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
        "document_ref": "NK/YDBA/2026",
        **overrides,
    }


async def drafted(units: Units[RegistryUnit], **overrides: object) -> str:
    mou = await units.run(mous.draft_mou, DraftMoU.model_validate(terms(**overrides)), MINISTRY)
    return mou.mou_id


async def test_an_mou_signed_early_in_the_jakarta_morning_is_signed_on_that_day(
    units: Units[RegistryUnit],
) -> None:
    # Was 422 future_date: "today" was UTC's date, the day before Jakarta's until 07:00 WIB.
    stated = await units.run(
        mous.sign_mou, await drafted(units), SignMoU(signed_on=JAKARTA_TODAY), MINISTRY
    )
    assert (stated.status, stated.signed_on) == ("signed", JAKARTA_TODAY)
    # Without a date it is signed today, Jakarta's today (was recorded the day before).
    by_default = await units.run(mous.sign_mou, await drafted(units), SignMoU(), MINISTRY)
    assert by_default.signed_on == JAKARTA_TODAY


async def test_an_imported_mou_signed_today_in_jakarta_is_imported_signed(
    units: Units[RegistryUnit],
) -> None:
    row = {**terms(), "signed_on": JAKARTA_TODAY.isoformat()}
    answer = await units.run(
        link_imports.import_mous, ImportMoUs.model_validate({"rows": [row]}), MINISTRY
    )
    assert (answer.imported, answer.rejected) == (1, 0), answer.results


async def test_an_mou_expires_when_its_end_date_has_passed_in_jakarta(
    units: Units[RegistryUnit],
) -> None:
    units.clock = fixed_clock(datetime(2026, 1, 5, 3, tzinfo=UTC))
    mou_id = await drafted(units, valid_until="2026-03-02")
    await units.run(mous.sign_mou, mou_id, SignMoU(signed_on=date(2026, 1, 5)), MINISTRY)
    units.clock = fixed_clock(datetime(2026, 3, 2, 16, 30, tzinfo=UTC))  # 23:30 WIB, 2 March
    assert await mous.expire_due_mous(units) == []
    units.clock = fixed_clock(EARLY_MORNING)  # 06:30 WIB on 3 March: 2 March has ended
    assert await units.read(queries.due_mous, 10) == [mou_id]
    assert await mous.expire_due_mous(units) == [mou_id]
    assert isinstance((await recorded_events(units))[-1], MoUExpired)


async def test_a_witness_does_not_terminate_the_parties_mou(units: Units[RegistryUnit]) -> None:
    mou_id = await drafted(units)
    await units.run(mous.sign_mou, mou_id, SignMoU(), MINISTRY)
    witness = Caller("pii-bkti-admin", "partner", partner_id="pii-bkti")
    with pytest.raises(Forbidden) as refused:
        await units.run(mous.terminate_mou, mou_id, TerminateMoU(reason="x"), witness)
    assert (refused.value.field, refused.value.rule) == ("parties", "not_a_party")
    still = await units.read(queries.get_mou, mou_id, witness)  # it still reads it
    assert still.status == "signed"
    party = Caller("ydba-admin", "partner", partner_id="ydba")
    ended = await units.run(mous.terminate_mou, mou_id, TerminateMoU(reason="done"), party)
    assert ended.status == "terminated"


async def test_a_partys_mous_are_listed_by_province(units: Units[RegistryUnit]) -> None:
    in_yogya = await drafted(units, province="34")
    await drafted(units, province="31")
    await drafted(units)  # national: no province
    ydba = Caller("ydba-admin", "partner", partner_id="ydba")
    # Was always empty: the party rows a party's listing reads had no province to match.
    for query, who in (
        (MoUQuery(party="ydba", province="34"), MINISTRY),
        (MoUQuery(province="34"), ydba),
        (MoUQuery(party="ministry", province="34", status="draft"), MINISTRY),
    ):
        listed = await units.read(queries.list_mous, query, who)
        assert [m.mou_id for m in listed.items] == [in_yogya], query
    signed = await units.run(mous.sign_mou, in_yogya, SignMoU(), MINISTRY)
    listed = await units.read(queries.list_mous, MoUQuery(province="34", status="signed"), ydba)
    assert [m.mou_id for m in listed.items] == [signed.mou_id]


async def test_one_expiry_pass_expires_every_mou_due_not_one_batch(
    units: Units[RegistryUnit],
) -> None:
    units.clock = fixed_clock(datetime(2026, 1, 5, 3, tzinfo=UTC))
    due = []
    for day in range(1, 6):
        mou_id = await drafted(units, valid_until=f"2026-02-0{day}")
        await units.run(mous.sign_mou, mou_id, SignMoU(), MINISTRY)
        due.append(mou_id)
    units.clock = fixed_clock(EARLY_MORNING)
    # Was 2 a pass, the rest left signed for the next passes (every 5 min: 5,000 MoUs ending
    # on one day took over 2 hours to expire at the default batch of 200).
    assert sorted(await mous.expire_due_mous(units, batch=2)) == sorted(due)
    assert await units.read(queries.due_mous, 10) == []


async def test_a_partner_drafts_only_mous_it_is_a_party_to_not_one_it_witnesses(
    units: Units[RegistryUnit],
) -> None:
    # As a witness it named two other partners as the parties of a draft (in their listings).
    witness = Caller("pii-bkti-admin", "partner", partner_id="pii-bkti")
    with pytest.raises(Forbidden) as refused:
        await units.run(mous.draft_mou, DraftMoU.model_validate(terms()), witness)
    assert (refused.value.field, refused.value.rule) == ("parties", "not_a_party")
    party = Caller("ydba-admin", "partner", partner_id="ydba")
    drafted_by_party = await units.run(mous.draft_mou, DraftMoU.model_validate(terms()), party)
    assert drafted_by_party.status == "draft"
