"""Subsidy use cases on an in-memory unit of work (no Kafka): what each handler stores, the
events it commits, who it refuses, and the enterprise replica's sequence rule."""

from __future__ import annotations

import pytest

from contracts.catalog import events_on
from contracts.registry import (
    ENTERPRISE_TOPIC,
    EnterpriseOnboardedToMarketplace,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
)
from contracts.subsidy import (
    BudgetAllocated,
    BudgetExhausted,
    SubsidyApplied,
    SubsidyApproved,
    SubsidyCancelled,
    SubsidyDisbursed,
    SubsidyOnHold,
    SubsidyRejected,
    SubsidyResumed,
    SubsidyReviewStarted,
)
from ikmkit.auth import Caller
from ikmkit.messaging.replica import SequenceGap
from ikmkit.service.errors import Conflict, Forbidden, InvalidInput, NotFound
from ikmkit.unit_of_work import Units
from services.subsidy import consumers, handlers, queries
from services.subsidy.commands import (
    CancelApplication,
    DisburseApplication,
    RejectApplication,
)
from services.subsidy.replicas import ENTERPRISES
from services.subsidy.store import SubsidyUnit
from tests.support.subsidy_units import (
    ACEH,
    JOGJA,
    MINISTRY,
    NIB,
    NOW,
    OWNER,
    active_enterprise,
    application,
    approve,
    deliver,
    events_of,
    program,
    registered,
    submitted,
    subsidy_units,
    verified,
)

units = pytest.fixture(subsidy_units, name="units")


async def test_create_program_announces_each_budget_it_allocates(
    units: Units[SubsidyUnit],
) -> None:
    program_id = await program(units, province_budget=100_000_000, reserve=25_000_000)
    province, reserve = await events_of(units, BudgetAllocated)
    assert [(e.budget_id, e.pool, e.province, e.allocated_rupiah) for e in (province, reserve)] == [
        (f"{program_id}:34", "province", "34", 100_000_000),
        (f"{program_id}:national_reserve", "national_reserve", None, 25_000_000),
    ]
    assert (province.program_id, province.program_name, province.fiscal_year) == (
        program_id,
        "Restrukturisasi Mesin IKM",
        2026,
    )
    assert (province.program_kind, province.allocated_by, province.allocated_at) == (
        "machine_restructuring",
        MINISTRY.subject,
        NOW,
    )
    assert (province.region(), reserve.region(), province.aggregate_id()) == (
        "34",
        None,
        f"{program_id}:34",
    )
    async with units.open() as uow:  # the events describe what was stored
        budgets = await uow.budgets.matching(2026, None)
    assert sorted((b.id, b.allocated_rupiah) for b in budgets) == sorted(
        (e.budget_id, e.allocated_rupiah) for e in (province, reserve)
    )


# --- submit -----------------------------------------------------------------------------------


async def test_submit_stores_the_application_and_announces_it(units: Units[SubsidyUnit]) -> None:
    app = await submitted(units, price=1_000_001)
    assert (app.status, app.requested_rebate_rupiah, app.submitted_at) == (
        "submitted",
        300_000,
        NOW,
    )
    [applied] = await events_of(units, SubsidyApplied)
    assert (applied.application_id, applied.applied_by, applied.applied_at) == (
        app.id,
        "owner",
        NOW,
    )
    assert await units.read(queries.get_application, app.id, OWNER) == app


async def test_submit_refuses_other_enterprises_and_unknown_or_unverified_ones(
    units: Units[SubsidyUnit],
) -> None:
    program_id = await program(units, province_budget=100_000_000)
    with pytest.raises(InvalidInput) as err:
        await units.run(handlers.submit_application, application(program_id), OWNER)
    assert err.value.rule == "enterprise_unknown"
    await deliver(units, registered(), 1)
    with pytest.raises(InvalidInput) as err:
        await units.run(handlers.submit_application, application(program_id), OWNER)
    assert err.value.rule == "enterprise_not_verified"
    stranger = Caller(subject="x", role="enterprise", nib="9999999999999")
    with pytest.raises(Forbidden):
        await units.run(handlers.submit_application, application(program_id), stranger)
    with pytest.raises(InvalidInput) as err:
        await units.run(handlers.submit_application, application("prg-nope"), OWNER)
    assert err.value.rule == "unknown_program"
    assert await events_of(units, SubsidyApplied) == []


# --- decide -----------------------------------------------------------------------------------


async def test_approve_reserves_the_rebate_and_announces_it(units: Units[SubsidyUnit]) -> None:
    app = await submitted(units)
    approved = await approve(units, app.id)
    assert (approved.status, approved.rebate_rupiah, approved.decided_at) == (
        "approved",
        3_000_000,
        NOW,
    )
    [event] = await events_of(units, SubsidyApproved)
    assert (event.budget_id, event.budget_pool, event.rebate_rupiah) == (
        f"{app.program_id}:34",
        "province",
        3_000_000,
    )
    report = await units.read(queries.budget_report, MINISTRY, fiscal_year=2026, province="34")
    assert (report.items[0].reserved_rupiah, report.totals.reconciles) == (3_000_000, True)
    with pytest.raises(Conflict) as err:
        await approve(units, app.id)
    assert err.value.rule == "cannot_approve_approved"


async def test_regional_officers_decide_only_in_their_province_and_below_the_limit(
    units: Units[SubsidyUnit],
) -> None:
    big = await submitted(units, price=200_000_000)  # rebate 60,000,000 > LIMIT
    with pytest.raises(Forbidden) as err:
        await approve(units, big.id, JOGJA)
    assert err.value.rule == "regional_approval_limit"
    with pytest.raises(NotFound) as hidden:  # another province's: as missing as to a read
        await units.run(handlers.reject, big.id, RejectApplication(reason="not mine"), ACEH)
    assert hidden.value.message == f"application {big.id} not found"
    with pytest.raises(Forbidden):
        await units.run(handlers.start_review, big.id, OWNER)
    reviewed = await units.run(handlers.start_review, big.id, JOGJA)
    assert (reviewed.status, reviewed.reviewer) == ("under_review", "officer-34")


async def test_reject_closes_the_application(units: Units[SubsidyUnit]) -> None:
    app = await submitted(units)
    rejected = await units.run(
        handlers.reject, app.id, RejectApplication(reason="invoice unreadable"), JOGJA
    )
    assert rejected.rejection is not None and rejected.rejection.rule == "reviewer_decision"
    assert (rejected.status, rejected.closed_at) == ("rejected", NOW)
    [event] = await events_of(units, SubsidyRejected)
    assert (event.rule, event.reason, event.rejected_by) == (
        "reviewer_decision",
        "invoice unreadable",
        "officer-34",
    )


async def test_an_exhausted_budget_refuses_and_is_announced_once(
    units: Units[SubsidyUnit],
) -> None:
    program_id = await program(units, province_budget=4_000_000)
    nibs = [f"12345678901{i:02d}" for i in range(3)]
    apps = []
    for nib in nibs:
        await active_enterprise(units, nib)
        owner = Caller(subject=nib, role="enterprise", nib=nib)
        cmd = application(program_id, nib=nib)
        apps.append(await units.run(handlers.submit_application, cmd, owner))
    decided = [await approve(units, a.id) for a in apps]
    assert [a.status for a in decided] == ["approved", "rejected", "rejected"]
    assert {a.rejection.rule for a in decided[1:] if a.rejection} == {"budget_exhausted"}
    [exhausted] = await events_of(units, BudgetExhausted)
    assert (exhausted.budget_id, exhausted.remaining_rupiah, exhausted.requested_rupiah) == (
        f"{program_id}:34",
        1_000_000,
        3_000_000,
    )
    assert len(await events_of(units, SubsidyRejected)) == 2


# --- pay or withdraw ----------------------------------------------------------------------------


async def test_disburse_pays_once_per_payment_reference(units: Units[SubsidyUnit]) -> None:
    app = await submitted(units)
    await approve(units, app.id)
    payment = DisburseApplication(payment_reference="SP2D-1")
    with pytest.raises(Forbidden):
        await units.run(handlers.disburse, app.id, payment, JOGJA)
    paid = await units.run(handlers.disburse, app.id, payment, MINISTRY)
    again = await units.run(handlers.disburse, app.id, payment, MINISTRY)
    assert (paid.status, again.version) == ("disbursed", paid.version)
    with pytest.raises(Conflict) as err:
        await units.run(
            handlers.disburse, app.id, DisburseApplication(payment_reference="SP2D-2"), MINISTRY
        )
    assert err.value.rule == "already_disbursed"
    [event] = await events_of(units, SubsidyDisbursed)
    assert (event.payment_reference, event.rebate_rupiah) == ("SP2D-1", 3_000_000)
    report = await units.read(queries.budget_report, MINISTRY, fiscal_year=None, province=None)
    assert report.totals.disbursed_rupiah == 3_000_000 and report.totals.reconciles


async def test_cancel_releases_the_reservation_to_the_budget_and_the_cap(
    units: Units[SubsidyUnit],
) -> None:
    app = await submitted(units)
    await approve(units, app.id)
    with pytest.raises(NotFound) as hidden:  # another province's: as missing as to a read
        await units.run(handlers.cancel, app.id, CancelApplication(reason="why"), ACEH)
    assert hidden.value.message == f"application {app.id} not found"
    cancelled = await units.run(
        handlers.cancel, app.id, CancelApplication(reason="supplier withdrew"), OWNER
    )
    assert (cancelled.status, cancelled.rebate_rupiah) == ("cancelled", 0)
    [event] = await events_of(units, SubsidyCancelled)
    assert (event.previous_status, event.released_rupiah, event.budget_id) == (
        "approved",
        3_000_000,
        f"{app.program_id}:34",
    )
    report = await units.read(queries.budget_report, MINISTRY, fiscal_year=None, province="34")
    assert (report.items[0].reserved_rupiah, report.items[0].remaining_rupiah) == (0, 100_000_000)
    async with units.open() as uow:
        usage = await uow.usages.of(app.program_id, NIB)
    assert usage.committed_rupiah == 0
    with pytest.raises(Conflict):
        await units.run(handlers.cancel, app.id, CancelApplication(reason="again"), OWNER)


# --- the enterprise replica and suspensions ---------------------------------------------------


def test_every_event_of_the_enterprise_topic_is_handled() -> None:
    assert set(consumers.HANDLERS) == set(events_on(ENTERPRISE_TOPIC))


async def test_replica_applies_in_order_ignores_replays_and_refuses_gaps(
    units: Units[SubsidyUnit],
) -> None:
    await active_enterprise(units)
    await deliver(units, registered(size_class="medium"), 1)  # a replay: nothing changes
    store = EnterpriseOnboardedToMarketplace(
        nib=NIB, province="34", platform="x", shop_url="https://x.id/s", onboarded_at=NOW
    )
    await deliver(units, store, 3)  # changes nothing here, but moves the sequence on
    updated = EnterpriseUpdated(
        nib=NIB, province="34", name="CV Logam Jaya Baru", regency="3471", kbli="25920",
        directorate="metal_machinery_electronics_transport", size_class="medium",
        workforce=30, investment_rupiah=10**9, changed_fields=["name"], updated_at=NOW,
    )  # fmt: skip
    with pytest.raises(SequenceGap):
        await deliver(units, updated, 5)
    await deliver(units, updated, 4)
    async with units.open() as uow:
        replica = await ENTERPRISES.get(uow.tx, NIB)
    assert replica is not None
    assert (replica.name, replica.size_class, replica.status, replica.sequence) == (
        "CV Logam Jaya Baru",
        "medium",
        "active",
        4,
    )
    with pytest.raises(SequenceGap):  # an enterprise the replica never saw registered
        await deliver(units, verified("9999999999999"), 1)


async def test_suspension_holds_open_applications_and_reinstatement_resumes(
    units: Units[SubsidyUnit],
) -> None:
    approved = await submitted(units)
    await approve(units, approved.id)
    waiting = await units.run(handlers.submit_application, application(approved.program_id), OWNER)
    suspension = EnterpriseSuspended(
        nib=NIB, province="34", reason="audit", suspended_by="officer-34", suspended_at=NOW
    )
    await deliver(units, suspension, 3)
    await deliver(units, suspension, 3)  # redelivered: no second hold
    with pytest.raises(InvalidInput) as err:
        await units.run(handlers.submit_application, application(approved.program_id), OWNER)
    assert err.value.rule == "enterprise_suspended"
    held = await events_of(units, SubsidyOnHold)
    assert sorted(e.previous_status for e in held) == ["approved", "submitted"]
    assert {e.reason for e in held} == {"enterprise suspended: audit"}
    reinstatement = EnterpriseReinstated(
        nib=NIB, province="34", reason="cleared", reinstated_by="officer-34", reinstated_at=NOW
    )
    await deliver(units, reinstatement, 4)
    statuses = [
        (await units.read(queries.get_application, a.id, MINISTRY)).status
        for a in (approved, waiting)
    ]
    assert statuses == ["approved", "submitted"]
    assert len(await events_of(units, SubsidyResumed)) == 2


async def test_lists_show_each_caller_only_what_it_may_see(units: Units[SubsidyUnit]) -> None:
    app = await submitted(units)
    search = queries.ApplicationSearch()
    mine = await units.read(queries.search_applications, search, OWNER)
    assert [a.id for a in mine.items] == [app.id]
    assert (await units.read(queries.search_applications, search, ACEH)).items == []
    with pytest.raises(Forbidden):
        await units.read(
            queries.search_applications, queries.ApplicationSearch(province="34"), ACEH
        )
    with pytest.raises(Forbidden):
        await units.read(
            queries.budget_report,
            Caller(subject="p", role="partner", partner_id="p"),
            fiscal_year=None,
            province=None,
        )
    stats = await units.read(queries.stats, MINISTRY, fiscal_year=2026)
    assert (stats.applications, stats.approvals) == (1, 0)


# --- gaps of issue #13 ------------------------------------------------------------------------


async def test_start_review_announces_who_started_it_and_when(units: Units[SubsidyUnit]) -> None:
    app = await submitted(units)
    await units.run(handlers.start_review, app.id, JOGJA)
    [event] = await events_of(units, SubsidyReviewStarted)
    assert (event.application_id, event.reviewer, event.review_started_at) == (
        app.id,
        "officer-34",
        NOW,
    )
    assert (event.program_name, event.province) == ("Restrukturisasi Mesin IKM", "34")
    with pytest.raises(Conflict):
        await units.run(handlers.start_review, app.id, JOGJA)
    assert len(await events_of(units, SubsidyReviewStarted)) == 1


async def test_stats_name_each_program_next_to_its_id(units: Units[SubsidyUnit]) -> None:
    app = await submitted(units)
    stats = await units.read(queries.stats, MINISTRY, fiscal_year=2026)
    [row] = stats.by_program
    assert (row.key, row.name, row.applications) == (
        app.program_id,
        "Restrukturisasi Mesin IKM",
        1,
    )
