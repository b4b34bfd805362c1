"""What the subsidy use-case tests share: an in-memory subsidy store at a fixed time, callers,
events delivered to the replica, an active enterprise, a program, applications."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    EnterpriseRegistered,
    EnterpriseVerified,
    OwnerContact,
)
from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.unit_of_work import Units
from services.subsidy import consumers, handlers
from services.subsidy.commands import (
    CreateProgram,
    SubmitApplication,
)
from services.subsidy.domain.model import Application, InvoiceLine
from services.subsidy.store import COLLECTIONS, SubsidyUnit
from tests.support.units import memory_units, recorded_events

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NIB = "1234567890123"
MINISTRY = Caller(subject="officer-pusat", role="ministry")
JOGJA = Caller(subject="officer-34", role="regional", province="34")
ACEH = Caller(subject="officer-11", role="regional", province="11")
OWNER = Caller(subject="owner", role="enterprise", nib=NIB)
LIMIT = 50_000_000


async def subsidy_units() -> AsyncIterator[Units[SubsidyUnit]]:
    """A module's ``units`` fixture: ``pytest.fixture(subsidy_units, name="units")``."""
    async with memory_units(SubsidyUnit, COLLECTIONS, source="/ikm/subsidy") as units:
        units.clock = fixed_clock(NOW)
        yield units


def meta(event: Event, sequence: int) -> EnvelopeAttributes:
    return EnvelopeAttributes(
        id=str(uuid.uuid4()),
        type=event.ce_type(),
        source="/ikm/registry",
        time=NOW,
        subject=getattr(event, "nib"),  # noqa: B009 (every enterprise event has one)
        region="34",
        sequence=sequence,
        hash="0" * 64,
    )


async def deliver(units: Units[SubsidyUnit], event: Event, sequence: int) -> None:
    async with units.open() as uow:
        await consumers.HANDLERS[type(event)](event, meta(event, sequence), uow)


def registered(nib: str = NIB, size_class: str = "small") -> EnterpriseRegistered:
    return EnterpriseRegistered(
        nib=nib,
        province="34",
        name="CV Logam Jaya",
        regency="3471",
        kbli="25920",
        directorate="metal_machinery_electronics_transport",
        size_class=size_class,  # type: ignore[arg-type]
        owner=OwnerContact(name="Sri"),
        registered_at=NOW,
    )


def verified(nib: str = NIB) -> EnterpriseVerified:
    return EnterpriseVerified(nib=nib, province="34", verified_by="officer-34", verified_at=NOW)


async def active_enterprise(units: Units[SubsidyUnit], nib: str = NIB) -> None:
    await deliver(units, registered(nib), 1)
    await deliver(units, verified(nib), 2)


async def program(units: Units[SubsidyUnit], province_budget: int, reserve: int = 0) -> str:
    cmd = CreateProgram(
        kind="machine_restructuring",
        name="Restrukturisasi Mesin IKM",
        fiscal_year=2026,
        cap_per_application_rupiah=100_000_000,
        cap_per_enterprise_rupiah=200_000_000,
        province_budgets={"34": province_budget},
        national_reserve_rupiah=reserve,
        opens_at=NOW - timedelta(days=1),
        closes_at=NOW + timedelta(days=30),
    )
    return (await units.run(handlers.create_program, cmd, MINISTRY)).id


def application(program_id: str, price: int = 10_000_000, nib: str = NIB) -> SubmitApplication:
    line = InvoiceLine(kind="machine", description="CNC", supplier="PT Mesin", price_rupiah=price)
    return SubmitApplication(program_id=program_id, nib=nib, lines=[line])


async def submitted(units: Units[SubsidyUnit], price: int = 10_000_000, **kw: Any) -> Application:
    program_id = await program(units, **({"province_budget": 100_000_000} | kw))
    await active_enterprise(units)
    return await units.run(handlers.submit_application, application(program_id, price), OWNER)


async def approve(units: Units[SubsidyUnit], app_id: str, caller: Caller = MINISTRY) -> Application:
    return await units.run(handlers.approve, app_id, caller, regional_limit_rupiah=LIMIT)


async def events_of(units: Units[SubsidyUnit], *kinds: type[Event]) -> list[Any]:
    return [e for e in await recorded_events(units) if isinstance(e, kinds)]


# --- programs ---------------------------------------------------------------------------------
