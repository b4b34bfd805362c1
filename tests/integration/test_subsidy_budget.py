"""Subsidy use cases on both real store adapters: budgets never overspend, the lifecycle
keeps the budget reconciled, suspension holds open applications."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts.envelope import EnvelopeAttributes
from contracts.registry import EnterpriseReinstated, EnterpriseSuspended
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox
from ikmkit.service.errors import Conflict
from ikmkit.store import Store
from services.subsidy import service
from services.subsidy.domain import Actor, EnterpriseReplica, InvoiceLine
from services.subsidy.settings import SubsidySettings
from services.subsidy.store import APPLICATIONS, COLLECTIONS, EnterpriseRepository

MINISTRY = Actor(subject="officer-pusat", role="ministry")
LIMIT = 50_000_000
MACHINE_PRICE = 10_000_000  # rebate 30% = Rp 3,000,000


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS])
    yield fresh_store


def random_nib() -> str:
    return str(uuid.uuid4().int)[:13].rjust(13, "1")


async def add_enterprises(store: Store, count: int, province: str = "34") -> list[str]:
    nibs = [random_nib() for _ in range(count)]
    async with store.transaction() as uow:
        for nib in nibs:
            await EnterpriseRepository(uow).add(
                EnterpriseReplica(
                    nib=nib,
                    name=f"CV Logam {nib[-4:]}",
                    province=province,
                    regency=f"{province}71",
                    kbli="25920",
                    directorate="metal_machinery_electronics_transport",
                    size_class="small",
                    status="active",
                    sequence=2,
                )
            )
    return nibs


async def machine_program(
    store: Store, province_budget: int, reserve: int = 0, province: str = "34"
) -> str:
    now = datetime.now(UTC)
    program = await service.create_program(
        service.CreateProgram(
            kind="machine_restructuring",
            name="Restrukturisasi Mesin IKM",
            fiscal_year=now.year,
            cap_per_application_rupiah=100_000_000,
            cap_per_enterprise_rupiah=200_000_000,
            province_budgets={province: province_budget},
            national_reserve_rupiah=reserve,
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=30),
        ),
        MINISTRY,
        store,
    )
    return program.id


async def submit(store: Store, outbox: Outbox, program_id: str, nib: str, price: int) -> str:
    line = InvoiceLine(
        kind="machine", description="CNC lathe", supplier="PT Mesin", price_rupiah=price
    )
    app = await service.submit_application(
        service.SubmitApplication(program_id=program_id, nib=nib, lines=[line]),
        Actor(subject=f"owner-{nib}", role="enterprise", nib=nib),
        store,
        outbox,
    )
    return app.id


async def outbox_types(store: Store) -> list[str]:
    async with store.transaction() as uow:
        page = await uow.find(OUTBOX, {}, limit=1000)
    return [row["headers"]["ce_type"].split(".")[-2] for row in page.items]


async def report(store: Store) -> dict[str, Any]:
    result = await service.budget_report(MINISTRY, store, fiscal_year=None, province=None)
    return result.model_dump()


async def test_fifty_concurrent_approvals_reserve_exactly_what_the_budget_covers(
    store: Store,
) -> None:
    outbox = Outbox("/ikm/subsidy")
    program_id = await machine_program(store, province_budget=10 * 3_000_000)
    nibs = await add_enterprises(store, 50)
    app_ids = [await submit(store, outbox, program_id, nib, MACHINE_PRICE) for nib in nibs]

    gate = asyncio.Semaphore(SubsidySettings().approval_concurrency)  # as the API does
    results = await asyncio.gather(
        *(
            service.approve(app_id, MINISTRY, store, outbox, regional_limit_rupiah=LIMIT, gate=gate)
            for app_id in app_ids
        )
    )

    approved = [a for a in results if a.status == "approved"]
    rejected = [a for a in results if a.status == "rejected"]
    assert len(approved) == 10
    assert len(rejected) == 40
    assert {a.rejection.rule for a in rejected if a.rejection} == {"budget_exhausted"}
    assert all(
        "cannot cover Rp 3,000,000" in (a.rejection.reason if a.rejection else "") for a in rejected
    )
    async with store.transaction() as uow:
        stored_approved = await uow.count(APPLICATIONS, {"status": "approved"})
    assert stored_approved == 10
    budget = (await report(store))["items"][0]
    assert budget["reserved_rupiah"] == 30_000_000
    assert budget["remaining_rupiah"] == 0
    assert budget["reconciles"]
    types = await outbox_types(store)
    assert types.count("SubsidyApproved") == 10
    assert types.count("SubsidyRejected") == 40
    assert types.count("BudgetExhausted") == 1  # announced once, not once per refusal


async def test_lifecycle_keeps_the_budget_reconciled(store: Store) -> None:
    outbox = Outbox("/ikm/subsidy")
    program_id = await machine_program(store, province_budget=5_000_000, reserve=10_000_000)
    first, second, third = await add_enterprises(store, 3)
    paid = await submit(store, outbox, program_id, first, MACHINE_PRICE)
    from_reserve = await submit(store, outbox, program_id, second, MACHINE_PRICE)
    withdrawn = await submit(store, outbox, program_id, third, 1_000_001)  # 30% = 300,000.3

    a = await service.approve(paid, MINISTRY, store, outbox, regional_limit_rupiah=LIMIT)
    b = await service.approve(from_reserve, MINISTRY, store, outbox, regional_limit_rupiah=LIMIT)
    c = await service.approve(withdrawn, MINISTRY, store, outbox, regional_limit_rupiah=LIMIT)
    assert (a.budget_id, a.rebate_rupiah) == (f"{program_id}:34", 3_000_000)
    assert (b.budget_id, b.rebate_rupiah) == (f"{program_id}:national_reserve", 3_000_000)
    assert c.rebate_rupiah == 300_000  # rounded down to the rupiah
    with pytest.raises(Conflict):
        await service.approve(paid, MINISTRY, store, outbox, regional_limit_rupiah=LIMIT)

    payment = service.DisburseApplication(payment_reference="SP2D-0001")
    once = await service.disburse(paid, payment, MINISTRY, store, outbox)
    twice = await service.disburse(paid, payment, MINISTRY, store, outbox)
    assert once.status == twice.status == "disbursed"
    assert twice.version == once.version  # the repeat changed nothing
    other = service.DisburseApplication(payment_reference="SP2D-0002")
    with pytest.raises(Conflict):
        await service.disburse(paid, other, MINISTRY, store, outbox)

    reason = service.CancelApplication(reason="supplier withdrew the offer")
    cancelled = await service.cancel(withdrawn, reason, MINISTRY, store, outbox)
    assert cancelled.status == "cancelled"

    budgets = {row["budget_id"]: row for row in (await report(store))["items"]}
    province = budgets[f"{program_id}:34"]
    assert (province["disbursed_rupiah"], province["reserved_rupiah"]) == (3_000_000, 0)
    assert province["remaining_rupiah"] == 2_000_000  # the cancelled 300,000 came back
    national = budgets[f"{program_id}:national_reserve"]
    assert (national["reserved_rupiah"], national["remaining_rupiah"]) == (3_000_000, 7_000_000)
    assert all(row["reconciles"] for row in budgets.values())
    types = await outbox_types(store)
    assert types.count("SubsidyDisbursed") == 1
    assert types.count("SubsidyCancelled") == 1


def _meta(nib: str, sequence: int) -> EnvelopeAttributes:
    return EnvelopeAttributes(
        id=str(uuid.uuid4()),
        type="test",
        source="/ikm/registry",
        time=datetime.now(UTC),
        subject=nib,
        region="34",
        sequence=sequence,
        hash="0" * 64,
    )


async def test_suspension_holds_open_applications_and_reinstatement_resumes(store: Store) -> None:
    outbox = Outbox("/ikm/subsidy")
    program_id = await machine_program(store, province_budget=50_000_000)
    (nib,) = await add_enterprises(store, 1)
    approved = await submit(store, outbox, program_id, nib, MACHINE_PRICE)
    waiting = await submit(store, outbox, program_id, nib, MACHINE_PRICE)
    await service.approve(approved, MINISTRY, store, outbox, regional_limit_rupiah=LIMIT)
    now = datetime.now(UTC)

    suspended = EnterpriseSuspended(
        nib=nib, province="34", reason="audit", suspended_by="regional-34", suspended_at=now
    )
    async with store.transaction() as uow:
        await service.hold_applications(suspended, _meta(nib, 3), uow, outbox)
    held = [await service.get_application(i, MINISTRY, store) for i in (approved, waiting)]
    assert [a.status for a in held] == ["on_hold", "on_hold"]
    payment = service.DisburseApplication(payment_reference="SP2D-9")
    with pytest.raises(Conflict):
        await service.disburse(approved, payment, MINISTRY, store, outbox)

    reinstated = EnterpriseReinstated(
        nib=nib, province="34", reason="cleared", reinstated_by="regional-34", reinstated_at=now
    )
    async with store.transaction() as uow:
        await service.resume_applications(reinstated, _meta(nib, 4), uow, outbox)
    resumed = [await service.get_application(i, MINISTRY, store) for i in (approved, waiting)]
    assert [a.status for a in resumed] == ["approved", "submitted"]
    types = await outbox_types(store)
    assert (types.count("SubsidyOnHold"), types.count("SubsidyResumed")) == (2, 2)
