"""What the training use-case tests share: an in-memory training store at a fixed time, the
keys and the ministry's caller, a course to schedule, and registry facts (an enterprise, an
MoU) delivered to the replicas as training's consumer would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.registry import EnterpriseRegistered, MoUParty, MoUSigned, OwnerContact
from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.unit_of_work import Units
from services.training import consumers
from services.training.commands import ScheduleCourse
from services.training.domain.rules import Keys
from services.training.store import COLLECTIONS, TrainingUnit
from tests.support.units import memory_units

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
TODAY = NOW.date()
KEYS = Keys(certificate=b"test-certificate", pseudonym=b"test-pseudonym")
MINISTRY = Caller("officer", "ministry")
NIB = "1234567890123"


@asynccontextmanager
async def training_units_at(now: datetime) -> AsyncIterator[Units[TrainingUnit]]:
    async with memory_units(TrainingUnit, COLLECTIONS) as units:
        units.clock = fixed_clock(now)
        yield units


async def training_units() -> AsyncIterator[Units[TrainingUnit]]:
    """A module's ``units`` fixture at ``NOW``: ``pytest.fixture(training_units, name="units")``."""
    async with training_units_at(NOW) as units:
        yield units


def meta(event: Event, sequence: int = 1) -> EnvelopeAttributes:
    """The registry's envelope of ``event``, ``sequence``-th of its aggregate."""
    return EnvelopeAttributes(
        id=str(uuid.uuid4()),
        type=event.ce_type(),
        source="/ikm/registry",
        time=NOW,
        subject=event.aggregate_id(),
        sequence=sequence,
        hash="0" * 64,
    )


async def deliver(units: Units[TrainingUnit], event: Event, sequence: int = 1) -> None:
    """``event`` handled by training's consumer, in a unit of work of its own."""
    async with units.open() as uow:
        await consumers.HANDLERS[type(event)](event, meta(event, sequence), uow)


def registered(nib: str = NIB) -> EnterpriseRegistered:
    return EnterpriseRegistered(
        nib=nib,
        province="34",
        name="CV Batik Sekar",
        regency="3471",
        kbli="13134",
        directorate="chemicals_clothing_crafts",
        size_class="small",
        owner=OwnerContact(name="Sri Wahyuni"),
        registered_at=NOW,
    )


def mou_signed(mou_id: str, valid_from: date, valid_until: date, partner: str = "pii") -> MoUSigned:
    """A technical-assistance MoU of the ministry and ``partner``, signed on its first day."""
    return MoUSigned(
        mou_id=mou_id,
        title="Pendampingan teknis IKM",
        scope="technical_assistance",
        parties=[MoUParty(partner_id="ministry"), MoUParty(partner_id=partner)],
        valid_from=valid_from,
        valid_until=valid_until,
        signed_on=valid_from,
        document_ref=f"NK/{mou_id}/IKMA/{valid_from.year}",
        signed_at=datetime(valid_from.year, valid_from.month, valid_from.day, tzinfo=UTC),
    )


def course_starting(start: date, **overrides: Any) -> ScheduleCourse:
    """A three-day ministry course from ``start``, in Central Java, of one seat."""
    fields: dict[str, Any] = {
        "title": "Diklat 3in1 Operator Mesin Jahit",
        "kind": "diklat_3in1",
        "organizer_id": "ministry",
        "start_date": start,
        "end_date": start + timedelta(days=2),
        "venues": ["Semarang"],
        "province": "33",
        "capacity": 1,
        "course_id": "c-1",
    }
    return ScheduleCourse.model_validate({**fields, **overrides})
