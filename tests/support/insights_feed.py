"""What the insights handler tests share: events as the consumer gets them (``Feed``), the
events' builders, an in-memory insights store at a fixed time, and the indicators read back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    EnterpriseRegistered,
    MoUParty,
    MoUSigned,
    OwnerContact,
    PartnerRegistered,
)
from contracts.subsidy import BudgetAllocated, SubsidyApproved
from contracts.training import ParticipantEnrolled
from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.messaging.inbox import deduplicated
from ikmkit.unit_of_work import Units
from services.insights import consumers, queries
from services.insights.store import COLLECTIONS, InsightsUnit
from tests.support.units import memory_units

NOW = datetime(2026, 7, 2, 12, tzinfo=UTC)
MARCH = datetime(2026, 3, 10, 9, tzinfo=UTC)
MAY = datetime(2026, 5, 4, 9, tzinfo=UTC)
MINISTRY = Caller("officer", "ministry")
JABAR = Caller("jabar-officer", "regional", province="32")
OWNER = OwnerContact(name="Siti")


def registered(nib: str, *, province: str = "32", regency: str = "3273", **more: Any) -> Event:
    return EnterpriseRegistered(
        nib=nib,
        province=province,
        regency=regency,
        name=f"IKM {nib}",
        kbli="10792",
        directorate="food_furniture_wood",
        size_class="small",
        owner=OWNER,
        registered_at=more.pop("at", MARCH),
        **more,
    )


def partner(partner_id: str, partner_type: str, province: str | None = "32") -> Event:
    return PartnerRegistered(
        partner_id=partner_id,
        name=partner_id,
        partner_type=partner_type,  # type: ignore[arg-type]
        country="ID",
        province=province,
        registered_at=MARCH,
    )


def link_and_match(mou_id: str, *partners: str, at: datetime = MAY) -> Event:
    parties = [MoUParty(partner_id="ministry"), *(MoUParty(partner_id=p) for p in partners)]
    return MoUSigned(
        mou_id=mou_id,
        title=mou_id,
        scope="vocational_link_and_match",
        parties=parties,
        valid_from=date(2026, 1, 1),
        valid_until=date(2028, 1, 1),
        signed_on=at.date(),
        document_ref="doc",
        signed_at=at,
    )


def enrolled(n: int, kind: str = "webinar", course: str = "c1", **more: Any) -> Event:
    return ParticipantEnrolled(
        course_id=course,
        participant_id=f"p{n}",
        participant_name=f"Peserta {n}",
        participant_kind="ikm_owner",
        province=more.pop("province", "32"),
        country=more.pop("country", "ID"),
        course_title="Webinar",
        course_kind=kind,  # type: ignore[arg-type]
        start_date=date(2026, 5, 1),
        end_date=date(2026, 5, 1),
        enrolled_at=MAY,
        **more,
    )


def application(kind: type[Event], app_id: str = "a1", **fields: Any) -> Event:
    common = {
        "application_id": app_id,
        "program_id": "prog-1",
        "program_kind": "machine_restructuring",
        "program_name": "Restrukturisasi Mesin 2026",
        "fiscal_year": 2026,
        "nib": "1234567890123",
        "enterprise_name": "IKM",
        "province": "32",
        "regency": "3273",
        "directorate": "food_furniture_wood",
    }
    return kind(**common, **fields)


class Feed:
    """Events as the consumer gets them: a sequence per aggregate, an id per event."""

    def __init__(self, units: Units[InsightsUnit]) -> None:
        self.units = units
        self.sequences: dict[str, int] = {}

    def meta(self, event: Event, sequence: int | None = None) -> EnvelopeAttributes:
        subject = event.aggregate_id()
        if sequence is None:
            sequence = self.sequences.get(subject, 0) + 1
        self.sequences[subject] = max(sequence, self.sequences.get(subject, 0))
        return EnvelopeAttributes(
            id=str(uuid.uuid4()),
            type=event.ce_type(),
            source="/ikm/test",
            time=NOW,
            subject=subject,
            region=event.region(),
            sequence=sequence,
            hash="0" * 64,
        )

    async def batch(self, *events: Event) -> None:
        items = [(e, self.meta(e)) for e in events]
        async with self.units.open() as uow:
            await consumers.on_batch(items, uow)

    async def one(self, event: Event, meta: EnvelopeAttributes | None = None) -> bool:
        handler = deduplicated(consumers.GROUP, consumers.on_event)
        async with self.units.open() as uow:
            return await handler(event, meta or self.meta(event), uow)


async def insights_units() -> AsyncIterator[Units[InsightsUnit]]:
    """A module's ``units`` fixture: ``pytest.fixture(insights_units, name="units")``."""
    async with memory_units(InsightsUnit, COLLECTIONS) as units:
        units.clock = fixed_clock(NOW)
        yield units


async def total(units: Units[InsightsUnit], indicator: str, **filters: Any) -> int | float:
    filters.setdefault("fiscal_year", 2026)
    series = await units.read(queries.indicator_series, indicator, MINISTRY, **filters)
    return series.total


async def points(
    units: Units[InsightsUnit], indicator: str, **filters: Any
) -> dict[str, int | float]:
    filters.setdefault("fiscal_year", 2026)
    series = await units.read(queries.indicator_series, indicator, MINISTRY, **filters)
    return {p.key: p.value for p in series.points}


MACHINES = "Restrukturisasi Mesin 2026"


def allocated(
    province: str | None, rupiah: int, *, program: str = MACHINES, at: datetime = MARCH
) -> Event:
    return BudgetAllocated(
        budget_id=f"{program}:{province or 'national_reserve'}",
        program_id=program,
        program_kind="machine_restructuring",
        program_name=program,
        fiscal_year=2026,
        province=province,
        pool="province" if province else "national_reserve",
        allocated_rupiah=rupiah,
        allocated_by="officer",
        allocated_at=at,
    )


def approved(app_id: str, rupiah: int, pool: str = "province") -> Event:
    return application(
        SubsidyApproved,
        app_id,
        eligible_cost_rupiah=rupiah * 10 // 3,
        rebate_rupiah=rupiah,
        budget_id=f"{MACHINES}:32",
        budget_pool=pool,
        approved_by="x",
        approved_at=MAY,
    )
