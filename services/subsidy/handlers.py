"""Subsidy use cases (writes). Each runs in one ``SubsidyUnit`` (``Units.run``): load, check
access, let the domain decide, save, collect the domain's events.

Approving, disbursing and cancelling move money in a budget that many approvals share:
they are ``contended``: 200 attempts, enough for every one of many concurrent approvals on
one budget to get its turn, also on the ``DuplicateKey`` of two first commitments of one
enterprise. So a reservation is decided on the budget as it is at commit.
"""

from __future__ import annotations

from contracts.registry import EnterpriseReinstated, EnterpriseSuspended
from ikmkit.auth import Caller
from ikmkit.store import DuplicateKey
from ikmkit.unit_of_work import contended
from services.subsidy.commands import (
    CancelApplication,
    CreateProgram,
    DisburseApplication,
    RejectApplication,
    SubmitApplication,
)
from services.subsidy.domain import access, program_terms, rules
from services.subsidy.domain.model import Application, new_id
from services.subsidy.domain.programs import Program, allocate_budgets
from services.subsidy.domain.rules import Refusal
from services.subsidy.replicas import ENTERPRISES
from services.subsidy.store import SubsidyUnit


async def create_program(uow: SubsidyUnit, cmd: CreateProgram, caller: Caller) -> Program:
    access.authorize_create_program(caller)
    program = program_terms.check_program(
        Program(
            **cmd.model_dump(exclude={"share_percent"}),
            id=new_id("prg")[:16],
            # Left out, the kind's share; an explicit 0 is kept, for the rules to refuse.
            share_percent=rules.DEFAULT_SHARE_PERCENT[cmd.kind]
            if cmd.share_percent is None
            else cmd.share_percent,
            created_by=caller.subject,
            created_at=uow.now,
        )
    )
    saved = await uow.programs.add(program)
    await uow.budgets.add_many(uow.collect(allocate_budgets(saved)))
    return saved


async def submit_application(
    uow: SubsidyUnit, cmd: SubmitApplication, caller: Caller
) -> Application:
    program = await uow.programs.find_one(cmd.program_id)
    if program is None:
        raise rules.unknown_program(cmd.program_id, cmd.lines)
    enterprise = await ENTERPRISES.get(uow.tx, cmd.nib)
    access.authorize_apply(caller, cmd.nib, enterprise.province if enterprise else None)
    usage = await uow.usages.of(program.id, cmd.nib)
    submitted = Application.submit(
        program, enterprise, cmd.lines, usage.committed_rupiah, caller.subject, uow.now
    )
    return await uow.applications.add(uow.collect(submitted))


async def start_review(uow: SubsidyUnit, application_id: str, caller: Caller) -> Application:
    app = await uow.applications.get(application_id)
    access.authorize_review(caller, app)
    return await uow.applications.save(uow.collect(app.start_review(caller.subject, uow.now)))


@contended(200, also=(DuplicateKey,))
async def approve(
    uow: SubsidyUnit, application_id: str, caller: Caller, *, regional_limit_rupiah: int
) -> Application:
    """Reserve the rebate and approve, or reject because the cap or the budget is used up."""
    app = await uow.applications.get(application_id)
    access.authorize_approve(caller, app, regional_limit_rupiah)
    rules.require_status(app, rules.DECIDABLE_STATUSES, "approve")
    program = await uow.programs.get(app.program_id)
    lapsed = rules.lapsed(program, uow.now)
    if lapsed is not None:
        return await _refuse(uow, app, lapsed, caller)
    province_budget, reserve = await uow.budgets.pools_of(program.id, app.province)
    usage = await uow.usages.of(program.id, app.nib)
    decision = rules.decide_reservation(
        app, usage.committed_rupiah, program, province_budget, reserve
    )
    if isinstance(decision, Refusal):
        return await _refuse(uow, app, decision, caller)
    await uow.budgets.save(decision.budget)
    await uow.usages.put(usage.commit(decision.rebate_rupiah))
    approved = app.approve(decision, caller.subject, uow.now)
    return await uow.applications.save(uow.collect(approved))


async def _refuse(
    uow: SubsidyUnit, app: Application, refusal: Refusal, caller: Caller
) -> Application:
    for budget in refusal.newly_exhausted:
        exhausted = budget.exhaust(app, refusal.needed_rupiah, uow.now)
        await uow.budgets.save(uow.collect(exhausted))
    refused = app.refuse(refusal, caller.subject, uow.now)
    return await uow.applications.save(uow.collect(refused))


async def reject(
    uow: SubsidyUnit, application_id: str, cmd: RejectApplication, caller: Caller
) -> Application:
    app = await uow.applications.get(application_id)
    access.authorize_review(caller, app)
    rejected = app.reject(cmd.reason, caller.subject, uow.now)
    return await uow.applications.save(uow.collect(rejected))


@contended(200, also=(DuplicateKey,))
async def disburse(
    uow: SubsidyUnit, application_id: str, cmd: DisburseApplication, caller: Caller
) -> Application:
    """Pay the reserved rebate. Repeating it with the same payment reference is a no-op."""
    access.authorize_disburse(caller)
    app = await uow.applications.get(application_id)
    if app.paid_with(cmd.payment_reference):
        return app
    paid = uow.collect(app.disburse(cmd.payment_reference, caller.subject, uow.now))
    assert paid.budget_id is not None  # an approved application has its budget
    budget = await uow.budgets.get(paid.budget_id)
    await uow.budgets.save(budget.disburse(paid.rebate_rupiah))
    return await uow.applications.save(paid)


@contended(200, also=(DuplicateKey,))
async def cancel(
    uow: SubsidyUnit, application_id: str, cmd: CancelApplication, caller: Caller
) -> Application:
    """Withdraw an application before payment; an approved one's reservation is released."""
    app = await uow.applications.get(application_id)
    access.authorize_cancel(caller, app)
    cancelled = uow.collect(app.cancel(cmd.reason, caller.subject, uow.now))
    if app.reserved_rupiah:
        await _release(uow, app)
    return await uow.applications.save(cancelled)


async def _release(uow: SubsidyUnit, app: Application) -> None:
    """Give an application's reservation back to its budget and to the enterprise's cap."""
    budget = await uow.budgets.find_one(app.budget_id) if app.budget_id else None
    if budget is not None:
        await uow.budgets.save(budget.release(app.reserved_rupiah))
    usage = await uow.usages.of(app.program_id, app.nib)
    await uow.usages.put(usage.release(app.reserved_rupiah))


# --- the registry's suspensions (called by the consumer, in its unit of work) ---------------


async def hold_applications(uow: SubsidyUnit, event: EnterpriseSuspended) -> None:
    """A suspended enterprise's open applications wait; reservations are kept."""
    for app in await uow.applications.open_of(event.nib, rules.OPEN_STATUSES):
        await uow.applications.save(uow.collect(app.hold(event.reason, event.suspended_at)))


async def resume_applications(uow: SubsidyUnit, event: EnterpriseReinstated) -> None:
    for app in await uow.applications.open_of(event.nib, ("on_hold",)):
        await uow.applications.save(uow.collect(app.resume(event.reinstated_at)))
