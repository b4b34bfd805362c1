"""Subsidy use cases: each takes a command (or event) and the ports it needs.

Every state change and the events it causes commit in one unit of work. Use cases that
touch a budget or an enterprise's cap may race; they retry the whole unit of work on
``RETRYABLE`` conflicts, so a reservation is decided on the budget as it is at commit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    Directorate,
    EnterpriseClassChanged,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
)
from contracts.subsidy import (
    BudgetExhausted,
    ProgramKind,
    SubsidyApplied,
    SubsidyApproved,
    SubsidyCancelled,
    SubsidyDisbursed,
    SubsidyOnHold,
    SubsidyRejected,
    SubsidyResumed,
)
from ikmkit.messaging.consumer import PermanentError
from ikmkit.messaging.outbox import Outbox
from ikmkit.service.errors import Conflict, Forbidden, InvalidInput, NotFound
from ikmkit.service.limits import MAX_ITEMS, MAX_LINES, Code, FiscalYear, Percent, Rupiah
from ikmkit.store import RETRYABLE, DuplicateKey, Page, Store, Transaction
from ikmkit.store.retry import retry_on_conflict
from services.subsidy import domain
from services.subsidy.domain import (
    Actor,
    Application,
    Budget,
    BudgetReport,
    EnterpriseReplica,
    InvoiceLine,
    KbliRange,
    Program,
    Stats,
)
from services.subsidy.store import (
    ApplicationRepository,
    BudgetRepository,
    EnterpriseRepository,
    EnterpriseUsage,
    ProgramRepository,
)

MAX_ATTEMPTS = 200
"""Enough for every one of many concurrent approvals on one budget to get its turn."""


async def retrying[T](unit_of_work: Callable[[], Awaitable[T]]) -> T:
    """Run the whole unit of work again when it lost a race (jittered backoff).

    A commit reported as failed may still have been applied (MongoDB's "unknown commit
    result"); the units of work recognise their own earlier change by ``last_change_id``.
    """
    return await retry_on_conflict(
        unit_of_work,
        retry_on=(*RETRYABLE, DuplicateKey),
        max_attempts=MAX_ATTEMPTS,
        base_delay=0.01,
        max_delay=1.0,
    )


ApplicationChange = Callable[[Transaction, Application, str], Awaitable[Application]]


async def _change_application(
    store: Store, application_id: str, apply: ApplicationChange
) -> Application:
    """Apply a change to one application in a retried unit of work, at most once.

    Each call has its own change id, recorded on the application by ``apply``: a retry
    that finds it knows an earlier attempt committed (a commit reported as failed may
    still have been applied) and returns the application as it is.
    """
    change_id = uuid.uuid4().hex

    async def unit() -> Application:
        async with store.transaction() as uow:
            app = await _load(uow, application_id)
            if app.last_change_id == change_id:
                return app
            return await apply(uow, app, change_id)

    return await retrying(unit)


def _now() -> datetime:
    return datetime.now(UTC)


# --- programs ---------------------------------------------------------------------------------


class CreateProgram(BaseModel):
    kind: ProgramKind
    name: str = Field(min_length=3, max_length=200)
    fiscal_year: FiscalYear
    share_percent: Percent | None = Field(
        None, description="Ministry's share of the eligible cost; default 30 (machines), 100 (TKDN)"
    )
    cap_per_application_rupiah: Rupiah
    cap_per_enterprise_rupiah: Rupiah
    eligible_directorates: Annotated[list[Directorate], MAX_ITEMS] = Field(default_factory=list)
    eligible_kbli_ranges: Annotated[list[KbliRange], MAX_ITEMS] = Field(default_factory=list)
    locally_made_only: bool = False
    province_budgets: Annotated[dict[Code, Rupiah], MAX_ITEMS]
    national_reserve_rupiah: Rupiah = 0
    opens_at: datetime
    closes_at: datetime


async def create_program(cmd: CreateProgram, actor: Actor, store: Store) -> Program:
    for name in ("opens_at", "closes_at"):
        if getattr(cmd, name).tzinfo is None:
            raise InvalidInput("times need a timezone (UTC)", field=name, rule="timezone")
    program = domain.check_program(
        Program(
            **cmd.model_dump(exclude={"share_percent"}),
            id=f"prg-{uuid.uuid4().hex[:12]}",
            share_percent=cmd.share_percent or domain.DEFAULT_SHARE_PERCENT[cmd.kind],
            created_by=actor.subject,
            created_at=_now(),
        )
    )

    async def unit() -> Program:
        async with store.transaction() as uow:
            programs = ProgramRepository(uow)
            earlier = await programs.get(program.id)
            if earlier is not None:
                return earlier  # an earlier attempt committed
            saved = await programs.add(program)
            await BudgetRepository(uow).add_all(domain.budgets_of(saved))
            return saved

    return await retrying(unit)


async def list_programs(store: Store, fiscal_year: int | None, kind: str | None) -> list[Program]:
    async with store.transaction() as uow:
        return await ProgramRepository(uow).list(fiscal_year, kind)


# --- applications -----------------------------------------------------------------------------


class SubmitApplication(BaseModel):
    program_id: Code
    nib: Code
    lines: Annotated[list[InvoiceLine], MAX_LINES]


async def submit_application(
    cmd: SubmitApplication,
    actor: Actor,
    store: Store,
    outbox: Outbox,
    now: datetime | None = None,
) -> Application:
    now = now or _now()
    application_id = f"app-{uuid.uuid4().hex}"

    async def unit() -> Application:
        async with store.transaction() as uow:
            earlier = await ApplicationRepository(uow).get(application_id)
            if earlier is not None:
                return earlier  # an earlier attempt committed
            return await _submit(cmd, application_id, actor, uow, outbox, now)

    return await retrying(unit)


async def _submit(
    cmd: SubmitApplication,
    application_id: str,
    actor: Actor,
    uow: Transaction,
    outbox: Outbox,
    now: datetime,
) -> Application:
    program = await ProgramRepository(uow).get(cmd.program_id)
    if program is None:
        raise InvalidInput(
            f"no program {cmd.program_id}", field="program_id", rule="unknown_program"
        )
    enterprise = await EnterpriseRepository(uow).get(cmd.nib)
    domain.may_apply(actor, cmd.nib, enterprise.province if enterprise else None)
    if not program.is_open(now):
        raise InvalidInput(
            f"the program accepts applications from {program.opens_at.isoformat()}"
            f" until {program.closes_at.isoformat()}",
            field="program_id",
            rule="outside_window",
        )
    refusal = domain.ineligibility(enterprise, program)
    if refusal is not None:
        raise refusal
    assert enterprise is not None
    cost = domain.eligible_cost(cmd.lines, program)
    committed, _ = await EnterpriseUsage(uow).committed(program.id, cmd.nib)
    if committed >= program.cap_per_enterprise_rupiah:
        raise InvalidInput(
            f"the enterprise reached its Rp {program.cap_per_enterprise_rupiah:,} cap"
            f" for {program.fiscal_year}",
            field="nib",
            rule="enterprise_cap_reached",
        )
    app = await ApplicationRepository(uow).add(
        Application(
            id=application_id,
            program_id=program.id,
            program_kind=program.kind,
            program_name=program.name,
            fiscal_year=program.fiscal_year,
            nib=enterprise.nib,
            enterprise_name=enterprise.name,
            province=enterprise.province,
            regency=enterprise.regency,
            directorate=enterprise.directorate,
            kbli=enterprise.kbli,
            lines=cmd.lines,
            eligible_cost_rupiah=cost,
            requested_rebate_rupiah=domain.rebate_for(cost, program),
            submitted_by=actor.subject,
            submitted_at=now,
        )
    )
    await outbox.add(
        uow,
        SubsidyApplied(
            **_event_fields(app),
            kbli=app.kbli,
            line_count=len(app.lines),
            eligible_cost_rupiah=app.eligible_cost_rupiah,
            requested_rebate_rupiah=app.requested_rebate_rupiah,
            applied_by=actor.subject,
            applied_at=now,
        ),
    )
    return app


def _event_fields(app: Application) -> dict[str, Any]:
    return {
        "application_id": app.id,
        "program_id": app.program_id,
        "program_kind": app.program_kind,
        "program_name": app.program_name,
        "fiscal_year": app.fiscal_year,
        "nib": app.nib,
        "enterprise_name": app.enterprise_name,
        "province": app.province,
        "regency": app.regency,
        "directorate": app.directorate,
    }


async def _load(uow: Transaction, application_id: str) -> Application:
    app = await ApplicationRepository(uow).get(application_id)
    if app is None:
        raise NotFound(f"no application {application_id}", field="id", rule="unknown")
    return app


async def get_application(application_id: str, actor: Actor, store: Store) -> Application:
    async with store.transaction() as uow:
        app = await _load(uow, application_id)
    if not domain.may_see(actor, app):
        # Same answer as a missing one: do not reveal other regions' applications exist.
        raise NotFound(f"no application {application_id}", field="id", rule="unknown")
    return app


async def search_applications(
    actor: Actor,
    store: Store,
    *,
    nib: str | None,
    status: str | None,
    province: str | None,
    limit: int,
    cursor: str | None,
) -> Page:
    if actor.role == "enterprise":
        nib = actor.nib
    elif actor.role == "regional":
        if province is not None and province != actor.province:
            raise Forbidden(
                "a regional officer sees only its own province", field="province", rule="scope"
            )
        province = actor.province
    elif actor.role not in ("ministry", "service"):
        raise Forbidden("this role cannot list applications", rule="role")
    async with store.transaction() as uow:
        return await ApplicationRepository(uow).search(
            nib=nib, status=status, province=province, limit=limit, cursor=cursor
        )


async def start_review(application_id: str, actor: Actor, store: Store) -> Application:
    async def apply(uow: Transaction, app: Application, change_id: str) -> Application:
        domain.may_review(actor, app)
        domain.require_status(app, ("submitted",), "review")
        return await ApplicationRepository(uow).record(
            app.model_copy(update={"status": "under_review", "reviewer": actor.subject}),
            change_id,
        )

    return await _change_application(store, application_id, apply)


async def approve(
    application_id: str,
    actor: Actor,
    store: Store,
    outbox: Outbox,
    *,
    regional_limit_rupiah: int,
    gate: asyncio.Semaphore | None = None,
    now: datetime | None = None,
) -> Application:
    """Reserve the rebate and approve, or reject because the cap or the budget is used up.

    Correctness comes from the store (versioned budget document, retried unit of work);
    ``gate`` only bounds how many approvals of this process race at once, so a burst does
    not turn into a storm of doomed transactions (each lost race costs a full attempt).
    """
    now = now or _now()

    async def apply(uow: Transaction, app: Application, change_id: str) -> Application:
        domain.may_approve(actor, app, regional_limit_rupiah)
        domain.require_status(app, domain.DECIDABLE_STATUSES, "approve")
        program = await ProgramRepository(uow).get(app.program_id)
        if program is None:
            raise NotFound(f"program {app.program_id} is gone", field="program_id")
        budgets = BudgetRepository(uow)
        province_budget = await budgets.get(domain.budget_id_for(program.id, app.province))
        reserve = await budgets.get(domain.budget_id_for(program.id, None))
        usage = EnterpriseUsage(uow)
        committed, usage_doc = await usage.committed(program.id, app.nib)
        decision = domain.decide_reservation(app, committed, program, province_budget, reserve)
        if isinstance(decision, domain.Refusal):
            return await _refuse(uow, outbox, app, decision, actor, now, change_id)
        await budgets.save(decision.budget)
        await usage.set(program.id, app.nib, usage_doc, committed + decision.rebate_rupiah)
        approved = await ApplicationRepository(uow).record(
            app.model_copy(
                update={
                    "status": "approved",
                    "rebate_rupiah": decision.rebate_rupiah,
                    "budget_id": decision.budget.id,
                    "decided_by": actor.subject,
                    "decided_at": now,
                }
            ),
            change_id,
        )
        await outbox.add(
            uow,
            SubsidyApproved(
                **_event_fields(approved),
                eligible_cost_rupiah=approved.eligible_cost_rupiah,
                rebate_rupiah=approved.rebate_rupiah,
                budget_id=decision.budget.id,
                budget_pool=decision.budget.pool,
                approved_by=actor.subject,
                approved_at=now,
            ),
        )
        return approved

    if gate is None:
        return await _change_application(store, application_id, apply)
    async with gate:
        return await _change_application(store, application_id, apply)


async def _refuse(
    uow: Transaction,
    outbox: Outbox,
    app: Application,
    refusal: domain.Refusal,
    actor: Actor,
    now: datetime,
    change_id: str,
) -> Application:
    for budget in refusal.newly_exhausted:
        # Flagging the budget also makes this refusal conflict with a concurrent reservation.
        await BudgetRepository(uow).save(budget.model_copy(update={"exhausted": True}))
        await outbox.add(uow, _exhausted(budget, app, now))
    rejection = domain.Rejection(rule=refusal.rule, reason=refusal.reason)
    return await _reject(uow, outbox, app, rejection, actor, now, change_id)


def _exhausted(budget: Budget, app: Application, now: datetime) -> BudgetExhausted:
    return BudgetExhausted(
        budget_id=budget.id,
        program_id=budget.program_id,
        program_kind=budget.program_kind,
        program_name=budget.program_name,
        fiscal_year=budget.fiscal_year,
        province=budget.province,
        pool=budget.pool,
        allocated_rupiah=budget.allocated_rupiah,
        reserved_rupiah=budget.reserved_rupiah,
        disbursed_rupiah=budget.disbursed_rupiah,
        remaining_rupiah=budget.remaining_rupiah,
        requested_rupiah=app.requested_rebate_rupiah,
        application_id=app.id,
        exhausted_at=now,
    )


async def _reject(
    uow: Transaction,
    outbox: Outbox,
    app: Application,
    rejection: domain.Rejection,
    actor: Actor,
    now: datetime,
    change_id: str,
) -> Application:
    rejected = await ApplicationRepository(uow).record(
        app.model_copy(
            update={
                "status": "rejected",
                "rejection": rejection,
                "decided_by": actor.subject,
                "decided_at": now,
                "closed_at": now,
            }
        ),
        change_id,
    )
    await outbox.add(
        uow,
        SubsidyRejected(
            **_event_fields(rejected),
            reason=rejection.reason,
            rule=rejection.rule,
            requested_rebate_rupiah=rejected.requested_rebate_rupiah,
            rejected_by=actor.subject,
            rejected_at=now,
        ),
    )
    return rejected


class RejectApplication(BaseModel):
    reason: str = Field(min_length=3, max_length=1000)


async def reject(
    application_id: str,
    cmd: RejectApplication,
    actor: Actor,
    store: Store,
    outbox: Outbox,
    now: datetime | None = None,
) -> Application:
    now = now or _now()

    async def apply(uow: Transaction, app: Application, change_id: str) -> Application:
        domain.may_review(actor, app)
        domain.require_status(app, domain.DECIDABLE_STATUSES, "reject")
        rejection = domain.Rejection(rule="reviewer_decision", reason=cmd.reason)
        return await _reject(uow, outbox, app, rejection, actor, now, change_id)

    return await _change_application(store, application_id, apply)


class DisburseApplication(BaseModel):
    payment_reference: str = Field(min_length=3, max_length=100)


async def disburse(
    application_id: str,
    cmd: DisburseApplication,
    actor: Actor,
    store: Store,
    outbox: Outbox,
    now: datetime | None = None,
) -> Application:
    """Pay the reserved rebate. Repeating it with the same payment reference is a no-op."""
    now = now or _now()
    domain.may_disburse(actor)

    async def apply(uow: Transaction, app: Application, change_id: str) -> Application:
        if app.status == "disbursed":
            if app.payment_reference == cmd.payment_reference:
                return app
            raise Conflict(
                f"already disbursed with payment reference {app.payment_reference}",
                field="payment_reference",
                rule="already_disbursed",
            )
        domain.require_status(app, ("approved",), "disburse")
        assert app.budget_id is not None
        budgets = BudgetRepository(uow)
        budget = await budgets.get(app.budget_id)
        if budget is None:
            raise NotFound(f"budget {app.budget_id} is gone", field="budget_id")
        await budgets.save(budget.disburse(app.rebate_rupiah))
        paid = await ApplicationRepository(uow).record(
            app.model_copy(
                update={
                    "status": "disbursed",
                    "payment_reference": cmd.payment_reference,
                    "closed_at": now,
                }
            ),
            change_id,
        )
        await outbox.add(
            uow,
            SubsidyDisbursed(
                **_event_fields(paid),
                rebate_rupiah=paid.rebate_rupiah,
                budget_id=budget.id,
                payment_reference=cmd.payment_reference,
                disbursed_by=actor.subject,
                disbursed_at=now,
            ),
        )
        return paid

    return await _change_application(store, application_id, apply)


class CancelApplication(BaseModel):
    reason: str = Field(min_length=3, max_length=1000)


async def cancel(
    application_id: str,
    cmd: CancelApplication,
    actor: Actor,
    store: Store,
    outbox: Outbox,
    now: datetime | None = None,
) -> Application:
    """Withdraw an application before payment; an approved one's reservation is released."""
    now = now or _now()

    async def apply(uow: Transaction, app: Application, change_id: str) -> Application:
        domain.may_cancel(actor, app)
        domain.require_status(app, domain.CANCELLABLE_STATUSES, "cancel")
        released = await _release(uow, app)
        cancelled = await ApplicationRepository(uow).record(
            app.model_copy(
                update={
                    "status": "cancelled",
                    "rebate_rupiah": 0,
                    "closed_at": now,
                    "status_before_hold": None,
                }
            ),
            change_id,
        )
        await outbox.add(
            uow,
            SubsidyCancelled(
                **_event_fields(cancelled),
                reason=cmd.reason,
                previous_status=app.status,
                released_rupiah=released,
                budget_id=app.budget_id if released else None,
                cancelled_by=actor.subject,
                cancelled_at=now,
            ),
        )
        return cancelled

    return await _change_application(store, application_id, apply)


async def _release(uow: Transaction, app: Application) -> int:
    """Give an approved application's reservation back to its budget and to the cap."""
    if app.budget_id is None or app.rebate_rupiah == 0:
        return 0
    budgets = BudgetRepository(uow)
    budget = await budgets.get(app.budget_id)
    if budget is not None:
        await budgets.save(budget.release(app.rebate_rupiah))
    usage = EnterpriseUsage(uow)
    committed, usage_doc = await usage.committed(app.program_id, app.nib)
    await usage.set(app.program_id, app.nib, usage_doc, max(0, committed - app.rebate_rupiah))
    return app.rebate_rupiah


# --- reports ----------------------------------------------------------------------------------


async def budget_report(
    actor: Actor, store: Store, *, fiscal_year: int | None, province: str | None
) -> BudgetReport:
    if actor.role == "regional":
        if province is not None and province != actor.province:
            raise Forbidden(
                "a regional officer sees only its own province", field="province", rule="scope"
            )
        province = actor.province
    elif actor.role not in ("ministry", "service"):
        raise Forbidden("budgets are for ministry and regional officers", rule="role")
    async with store.transaction() as uow:
        budgets = await BudgetRepository(uow).matching(
            fiscal_year, [province] if province is not None else []
        )
    return domain.budget_report(budgets)


async def stats(actor: Actor, store: Store, fiscal_year: int | None) -> Stats:
    if actor.role not in ("ministry", "regional", "service"):
        raise Forbidden("statistics are for officers", rule="role")
    async with store.transaction() as uow:
        cells = await ApplicationRepository(uow).stats_cells(fiscal_year)
    return domain.stats_of(cells)


# --- the enterprise replica (registry events) -----------------------------------------------


async def replicate_registered(
    event: EnterpriseRegistered, meta: EnvelopeAttributes, uow: Transaction
) -> None:
    repo = EnterpriseRepository(uow)
    existing = await repo.get(event.nib)
    if existing is not None:
        return  # a replay of the first event: the replica is already newer
    await repo.add(
        EnterpriseReplica(
            nib=event.nib,
            name=event.name,
            province=event.province,
            regency=event.regency,
            kbli=event.kbli,
            directorate=event.directorate,
            size_class=event.size_class,
            sequence=meta.sequence,
        )
    )


async def _update_replica(
    uow: Transaction, nib: str, meta: EnvelopeAttributes, changes: dict[str, Any]
) -> EnterpriseReplica | None:
    """Apply ``changes`` unless the replica already reflects this event; the old replica."""
    repo = EnterpriseRepository(uow)
    current = await repo.get(nib)
    if current is None:
        raise PermanentError(f"event {meta.id} for enterprise {nib} before its registration")
    if meta.sequence <= current.sequence:
        return None
    await repo.save(current.model_copy(update={**changes, "sequence": meta.sequence}))
    return current


async def replicate_updated(
    event: EnterpriseUpdated, meta: EnvelopeAttributes, uow: Transaction
) -> None:
    await _update_replica(
        uow,
        event.nib,
        meta,
        {
            "name": event.name,
            "regency": event.regency,
            "kbli": event.kbli,
            "directorate": event.directorate,
            "size_class": event.size_class,
        },
    )


async def replicate_verified(
    event: EnterpriseVerified, meta: EnvelopeAttributes, uow: Transaction
) -> None:
    await _update_replica(uow, event.nib, meta, {"status": "active"})


async def replicate_class_changed(
    event: EnterpriseClassChanged, meta: EnvelopeAttributes, uow: Transaction
) -> None:
    await _update_replica(uow, event.nib, meta, {"size_class": event.new_class})


async def hold_applications(
    event: EnterpriseSuspended, meta: EnvelopeAttributes, uow: Transaction, outbox: Outbox
) -> None:
    """A suspended enterprise's open applications wait; reservations are kept."""
    if await _update_replica(uow, event.nib, meta, {"status": "suspended"}) is None:
        return
    repo = ApplicationRepository(uow)
    for app in await repo.open_of(event.nib, domain.OPEN_STATUSES):
        held = await repo.save(
            app.model_copy(update={"status": "on_hold", "status_before_hold": app.status})
        )
        await outbox.add(
            uow,
            SubsidyOnHold(
                **_event_fields(held),
                reason=f"enterprise suspended: {event.reason}",
                previous_status=app.status,
                held_at=event.suspended_at,
            ),
        )


async def resume_applications(
    event: EnterpriseReinstated, meta: EnvelopeAttributes, uow: Transaction, outbox: Outbox
) -> None:
    if await _update_replica(uow, event.nib, meta, {"status": "active"}) is None:
        return
    repo = ApplicationRepository(uow)
    for app in await repo.open_of(event.nib, ("on_hold",)):
        status = app.status_before_hold or "submitted"
        resumed = await repo.save(
            app.model_copy(update={"status": status, "status_before_hold": None})
        )
        await outbox.add(
            uow,
            SubsidyResumed(**_event_fields(resumed), status=status, resumed_at=event.reinstated_at),
        )
