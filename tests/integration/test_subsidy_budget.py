"""Subsidy use cases on both real store adapters: budgets never overspend, the lifecycle
keeps the budget reconciled, suspension holds open applications."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.envelope import EnvelopeAttributes
from contracts.registry import EnterpriseReinstated, EnterpriseSuspended
from ikmkit.auth import Caller
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox
from ikmkit.service.errors import Conflict
from ikmkit.store import Store
from services.subsidy import consumers, handlers, queries
from services.subsidy.bootstrap import Subsidy, bootstrap
from services.subsidy.commands import (
    CancelApplication,
    CreateProgram,
    DisburseApplication,
    SubmitApplication,
)
from services.subsidy.domain.model import Application, InvoiceLine
from services.subsidy.settings import SubsidySettings
from services.subsidy.store import APPLICATIONS, COLLECTIONS
from tests.support.fiscal import open_now
from tests.support.subsidy_replica import add_enterprises

MINISTRY = Caller(subject="officer-pusat", role="ministry")
LIMIT = 50_000_000
MACHINE_PRICE = 10_000_000  # rebate 30% = Rp 3,000,000


@pytest.fixture
async def store(fresh_store: Store) -> AsyncIterator[Store]:
    await fresh_store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS])
    yield fresh_store


def subsidy_of(store: Store) -> Subsidy:
    return bootstrap(store, Outbox("/ikm/subsidy"), SubsidySettings())


async def approve(deps: Subsidy, app_id: str) -> Application:
    # As the API does: through the process's approval gate.
    async with deps.approval_gate:
        return await deps.units.run(handlers.approve, app_id, MINISTRY, regional_limit_rupiah=LIMIT)


async def machine_program(
    deps: Subsidy, province_budget: int, reserve: int = 0, province: str = "34"
) -> str:
    program = await deps.units.run(
        handlers.create_program,
        CreateProgram(
            kind="machine_restructuring",
            name="Restrukturisasi Mesin IKM",
            **open_now(),
            cap_per_application_rupiah=100_000_000,
            cap_per_enterprise_rupiah=200_000_000,
            province_budgets={province: province_budget},
            national_reserve_rupiah=reserve,
        ),
        MINISTRY,
    )
    return program.id


async def submit(deps: Subsidy, program_id: str, nib: str, price: int) -> str:
    line = InvoiceLine(
        kind="machine", description="CNC lathe", supplier="PT Mesin", price_rupiah=price
    )
    app = await deps.units.run(
        handlers.submit_application,
        SubmitApplication(program_id=program_id, nib=nib, lines=[line]),
        Caller(subject=f"owner-{nib}", role="enterprise", nib=nib),
    )
    return app.id


async def outbox_types(store: Store) -> list[str]:
    async with store.transaction() as uow:
        page = await uow.find(OUTBOX, {}, limit=1000)
    return [row["headers"]["ce_type"].split(".")[-2] for row in page.items]


async def report(deps: Subsidy) -> dict[str, Any]:
    result = await deps.units.read(queries.budget_report, MINISTRY, fiscal_year=None, province=None)
    return result.model_dump()


async def test_fifty_concurrent_approvals_reserve_exactly_what_the_budget_covers(
    store: Store,
) -> None:
    deps = subsidy_of(store)
    program_id = await machine_program(deps, province_budget=10 * 3_000_000)
    nibs = await add_enterprises(store, 50)
    app_ids = [await submit(deps, program_id, nib, MACHINE_PRICE) for nib in nibs]

    results = await asyncio.gather(*(approve(deps, app_id) for app_id in app_ids))

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
    budget = (await report(deps))["items"][0]
    assert budget["reserved_rupiah"] == 30_000_000
    assert budget["remaining_rupiah"] == 0
    assert budget["reconciles"]
    types = await outbox_types(store)
    assert types.count("SubsidyApproved") == 10
    assert types.count("SubsidyRejected") == 40
    assert types.count("BudgetExhausted") == 1  # announced once, not once per refusal


async def test_lifecycle_keeps_the_budget_reconciled(store: Store) -> None:
    deps = subsidy_of(store)
    program_id = await machine_program(deps, province_budget=5_000_000, reserve=10_000_000)
    first, second, third = await add_enterprises(store, 3)
    paid = await submit(deps, program_id, first, MACHINE_PRICE)
    from_reserve = await submit(deps, program_id, second, MACHINE_PRICE)
    withdrawn = await submit(deps, program_id, third, 1_000_001)  # 30% = 300,000.3

    a = await approve(deps, paid)
    b = await approve(deps, from_reserve)
    c = await approve(deps, withdrawn)
    assert (a.budget_id, a.rebate_rupiah) == (f"{program_id}:34", 3_000_000)
    assert (b.budget_id, b.rebate_rupiah) == (f"{program_id}:national_reserve", 3_000_000)
    assert c.rebate_rupiah == 300_000  # rounded down to the rupiah
    with pytest.raises(Conflict):
        await approve(deps, paid)

    payment = DisburseApplication(payment_reference="SP2D-0001")
    once = await deps.units.run(handlers.disburse, paid, payment, MINISTRY)
    twice = await deps.units.run(handlers.disburse, paid, payment, MINISTRY)
    assert once.status == twice.status == "disbursed"
    assert twice.version == once.version  # the repeat changed nothing
    other = DisburseApplication(payment_reference="SP2D-0002")
    with pytest.raises(Conflict):
        await deps.units.run(handlers.disburse, paid, other, MINISTRY)

    reason = CancelApplication(reason="supplier withdrew the offer")
    cancelled = await deps.units.run(handlers.cancel, withdrawn, reason, MINISTRY)
    assert cancelled.status == "cancelled"

    budgets = {row["budget_id"]: row for row in (await report(deps))["items"]}
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
    deps = subsidy_of(store)
    program_id = await machine_program(deps, province_budget=50_000_000)
    (nib,) = await add_enterprises(store, 1)
    approved = await submit(deps, program_id, nib, MACHINE_PRICE)
    waiting = await submit(deps, program_id, nib, MACHINE_PRICE)
    await approve(deps, approved)
    now = datetime.now(UTC)

    suspended = EnterpriseSuspended(
        nib=nib, province="34", reason="audit", suspended_by="regional-34", suspended_at=now
    )
    async with deps.units.open() as uow:  # as the consumer does
        await consumers.on_suspended(suspended, _meta(nib, 3), uow)
    held = [
        await deps.units.read(queries.get_application, i, MINISTRY) for i in (approved, waiting)
    ]
    assert [a.status for a in held] == ["on_hold", "on_hold"]
    payment = DisburseApplication(payment_reference="SP2D-9")
    with pytest.raises(Conflict):
        await deps.units.run(handlers.disburse, approved, payment, MINISTRY)

    reinstated = EnterpriseReinstated(
        nib=nib, province="34", reason="cleared", reinstated_by="regional-34", reinstated_at=now
    )
    async with deps.units.open() as uow:
        await consumers.on_reinstated(reinstated, _meta(nib, 4), uow)
    resumed = [
        await deps.units.read(queries.get_application, i, MINISTRY) for i in (approved, waiting)
    ]
    assert [a.status for a in resumed] == ["approved", "submitted"]
    types = await outbox_types(store)
    assert (types.count("SubsidyOnHold"), types.count("SubsidyResumed")) == (2, 2)
