"""An MoU's days are Jakarta's (WIB, ``ikmkit.clock.jakarta_date``), as the registry signs and
expires it: from 00:00 to 07:00 WIB, UTC's date is still the day before, and training judged
an MoU's cover of a mentor by it (a day late at both ends of the MoU's term)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.envelope import EnvelopeAttributes
from contracts.registry import EnterpriseRegistered, MoUParty, MoUSigned, OwnerContact
from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.service.errors import Conflict
from ikmkit.unit_of_work import Units
from services.training import queries, replicas
from services.training.commands import AssignMentor
from services.training.handlers import mentoring
from services.training.store import COLLECTIONS, TrainingUnit
from tests.support.units import memory_units

NIB = "1234567890123"
MINISTRY = Caller("officer", "ministry")
PII = Caller("pii-admin", "partner", partner_id="pii")
# 1 April, 01:30 WIB: 31 March in UTC.
EARLY_MORNING = datetime(2026, 3, 31, 18, 30, tzinfo=UTC)


def meta(subject: str, event: Any) -> EnvelopeAttributes:
    return EnvelopeAttributes(
        id=str(uuid.uuid4()), type=event.ce_type(), source="/ikm/registry",
        time=EARLY_MORNING, subject=subject, sequence=1, hash="0" * 64,
    )  # fmt: skip


@pytest.fixture
async def units() -> AsyncIterator[Units[TrainingUnit]]:
    async with memory_units(TrainingUnit, COLLECTIONS) as made:
        made.clock = fixed_clock(EARLY_MORNING)
        yield made


async def mou_signed(units: Units[TrainingUnit], valid_from: date, valid_until: date) -> None:
    enterprise = EnterpriseRegistered(
        nib=NIB, province="34", name="CV Logam Jaya", regency="3471", kbli="25920",
        directorate="metal_machinery_electronics_transport", size_class="small",
        owner=OwnerContact(name="Sri"), registered_at=EARLY_MORNING,
    )  # fmt: skip
    signed = MoUSigned(
        mou_id="mou-1", title="Pendampingan teknis IKM", scope="technical_assistance",
        parties=[MoUParty(partner_id="ministry"), MoUParty(partner_id="pii")],
        valid_from=valid_from, valid_until=valid_until, signed_on=valid_from,
        document_ref="NK/01/IKMA/2026", signed_at=EARLY_MORNING,
    )  # fmt: skip
    async with units.open() as uow:
        await replicas.on_enterprise_event(enterprise, meta(NIB, enterprise), uow)
        await replicas.on_mou_signed(signed, meta("mou-1", signed), uow)


async def assign(units: Units[TrainingUnit], starts_on: date | None = None) -> str:
    cmd = AssignMentor(nib=NIB, partner_id="pii", mentor_name="Ir. Bambang", starts_on=starts_on)
    return (await units.run(mentoring.assign_mentor, cmd, PII)).id


async def test_an_mou_starting_today_in_jakarta_covers_a_mentor_from_today(
    units: Units[TrainingUnit],
) -> None:
    await mou_signed(units, date(2026, 4, 1), date(2026, 12, 31))
    assignment_id = await assign(units)  # no starts_on: today, 1 April in Jakarta
    found = await units.read(queries.get_assignment, assignment_id, MINISTRY)
    assert (found.starts_on, found.mou_id) == (date(2026, 4, 1), "mou-1")


async def test_an_mou_that_ended_yesterday_in_jakarta_covers_no_new_mentor(
    units: Units[TrainingUnit],
) -> None:
    await mou_signed(units, date(2026, 1, 1), date(2026, 3, 31))
    with pytest.raises(Conflict) as refused:
        await assign(units, starts_on=date(2026, 3, 31))  # backdated into the ended term
    assert refused.value.field == "partner_id"


async def test_a_mentor_under_an_mou_that_ended_yesterday_is_not_counted_in_force(
    units: Units[TrainingUnit],
) -> None:
    await mou_signed(units, date(2026, 1, 1), date(2026, 3, 31))
    units.clock = fixed_clock(datetime(2026, 3, 31, 9, tzinfo=UTC))  # 16:00 WIB, in its term
    await assign(units)
    assert (await units.read(queries.stats, MINISTRY)).active_mentor_assignments == 1
    units.clock = fixed_clock(EARLY_MORNING)  # 1 April in Jakarta: the MoU ended yesterday
    assert (await units.read(queries.stats, MINISTRY)).active_mentor_assignments == 0
