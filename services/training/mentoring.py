"""Mentors (pendamping teknis) under MoU: the MoU replica and assignment use cases.

The replica is learned from the registry's MoU events only. It does not need the partner to
be known (``PartnerRegistered`` may arrive later or never): an MoU names its parties by id.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from pydantic import BaseModel, Field

from contracts.envelope import EnvelopeAttributes
from contracts.registry import MoUExpired, MoUSigned, MoUTerminated
from contracts.training import MentorAssigned, MentorAssignmentEnded
from contracts.values import Email
from ikmkit.auth import Caller
from ikmkit.messaging.outbox import Outbox
from ikmkit.service.errors import Conflict, Forbidden, InvalidInput, NotFound
from ikmkit.service.limits import Code, Name
from ikmkit.store import Store, Transaction
from services.training import domain
from services.training.domain import MentorAssignment, MoUCoverage
from services.training.service import retrying
from services.training.store import (
    AssignmentRepository,
    EnterpriseReplica,
    MoUCoverageRepository,
)

MINISTRY = "ministry"


# --- the MoU replica (registry events) --------------------------------------------------------


def _coverage_id(mou_id: str, partner_id: str) -> str:
    return f"{mou_id}|{partner_id}"


async def apply_mou_signed(event: MoUSigned, meta: EnvelopeAttributes, uow: Transaction) -> None:
    repo = MoUCoverageRepository(uow)
    ended = {c.partner_id for c in await repo.of_mou(event.mou_id) if c.status != "signed"}
    for party in event.parties:
        if party.role != "party" or party.partner_id == MINISTRY or party.partner_id in ended:
            continue
        await repo.put(
            MoUCoverage(
                id=_coverage_id(event.mou_id, party.partner_id),
                mou_id=event.mou_id,
                partner_id=party.partner_id,
                scope=event.scope,
                status="signed",
                valid_from=event.valid_from,
                valid_until=event.valid_until,
            )
        )


async def apply_mou_ended(
    event: MoUExpired | MoUTerminated,
    meta: EnvelopeAttributes,
    uow: Transaction,
    outbox: Outbox,
) -> None:
    """The MoU no longer covers its parties: record it and end every assignment under it."""
    status: Any = "expired" if isinstance(event, MoUExpired) else "terminated"
    at = event.expired_at if isinstance(event, MoUExpired) else event.terminated_at
    repo = MoUCoverageRepository(uow)
    known = {c.partner_id: c for c in await repo.of_mou(event.mou_id)}
    for party in event.parties:
        if party.role != "party" or party.partner_id == MINISTRY:
            continue
        current = known.get(party.partner_id)
        base = current or MoUCoverage(
            id=_coverage_id(event.mou_id, party.partner_id),
            mou_id=event.mou_id,
            partner_id=party.partner_id,
            scope=event.scope,
            status=status,
        )
        await repo.put(base.model_copy(update={"status": status}))
    reason: Any = "mou_expired" if status == "expired" else "mou_terminated"
    assignments = AssignmentRepository(uow)
    for assignment in await assignments.active_under(event.mou_id):
        ended = await assignments.save(assignment.end(reason, at))
        await outbox.add(
            uow,
            MentorAssignmentEnded(
                assignment_id=ended.id,
                nib=ended.nib,
                province=ended.province,
                partner_id=ended.partner_id,
                mou_id=ended.mou_id,
                reason=reason,
                ended_at=at,
            ),
        )


# --- assignments ------------------------------------------------------------------------------


class AssignMentor(BaseModel):
    nib: Code
    partner_id: Code = Field(min_length=1)
    mentor_name: Name = Field(min_length=1)
    mentor_email: Email | None = None
    starts_on: date | None = None


def authorize_assignment(principal: Caller, partner_id: str) -> None:
    principal.require("ministry", "partner", "service")
    if principal.role == "partner" and principal.partner_id != partner_id:
        raise Forbidden("a partner assigns only its own mentors")


async def assign_mentor(
    cmd: AssignMentor,
    principal: Caller,
    store: Store,
    outbox: Outbox,
    now: datetime | None = None,
) -> MentorAssignment:
    authorize_assignment(principal, cmd.partner_id)
    domain.check_nib(cmd.nib)
    at = now or datetime.now(UTC)
    starts_on = cmd.starts_on or at.date()

    async def work() -> MentorAssignment:
        async with store.transaction() as uow:
            enterprise = await EnterpriseReplica(uow).get(cmd.nib)
            if enterprise is None:
                raise InvalidInput(
                    f"NIB {cmd.nib} is not a registered enterprise (yet)",
                    field="nib",
                    rule="unknown_nib",
                )
            if enterprise.get("status") == "suspended":
                raise Conflict("the enterprise is suspended", field="nib", rule="suspended")
            coverages = await MoUCoverageRepository(uow).of_partner(cmd.partner_id)
            mou = domain.covering_mou(coverages, cmd.partner_id, starts_on)
            assert mou.valid_until is not None
            assignment = MentorAssignment(
                id=f"ma-{uuid.uuid4().hex[:12]}",
                nib=cmd.nib,
                province=enterprise.get("province"),
                enterprise_name=enterprise.get("name"),
                partner_id=cmd.partner_id,
                mou_id=mou.mou_id,
                mentor_name=" ".join(cmd.mentor_name.split()),
                mentor_email=cmd.mentor_email,
                starts_on=starts_on,
                ends_on=mou.valid_until,
                assigned_by=principal.subject,
                assigned_at=at,
            )
            saved = await AssignmentRepository(uow).add(assignment)
            await outbox.add(uow, _assigned(saved))
            return saved

    return await retrying(work)


def _assigned(a: MentorAssignment) -> MentorAssigned:
    return MentorAssigned(
        assignment_id=a.id,
        nib=a.nib,
        province=a.province,
        partner_id=a.partner_id,
        mou_id=a.mou_id,
        mentor_name=a.mentor_name,
        mentor_email=a.mentor_email,
        enterprise_name=a.enterprise_name,
        starts_on=a.starts_on,
        ends_on=a.ends_on,
        assigned_by=a.assigned_by,
        assigned_at=a.assigned_at,
    )


def may_see_assignment(principal: Caller, a: MentorAssignment) -> bool:
    """The same audience as ``list_assignments``: ministry and services all, a regional officer
    their province's, a partner and an enterprise their own."""
    if principal.role in ("ministry", "service"):
        return True
    if principal.role == "regional":
        return a.province == principal.province
    if principal.role == "partner":
        return a.partner_id == principal.partner_id
    if principal.role == "enterprise":
        return a.nib == principal.nib
    return False


async def get_assignment(assignment_id: str, principal: Caller, store: Store) -> MentorAssignment:
    async with store.transaction() as uow:
        found = await AssignmentRepository(uow).get(assignment_id)
    # Someone else's assignment is "not found": its existence does not leak.
    if found is None or not may_see_assignment(principal, found):
        raise NotFound(f"no mentor assignment {assignment_id}")
    return found


async def list_assignments(
    principal: Caller,
    store: Store,
    *,
    enterprise: str | None,
    partner: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[MentorAssignment], str | None]:
    """Ministry and services see all; a partner its own; an enterprise its own; a regional
    officer those in their province."""
    where: dict[str, Any] = {}
    if principal.role == "partner":
        if partner not in (None, principal.partner_id):
            raise Forbidden("a partner sees only its own assignments")
        partner = principal.partner_id
    if principal.role == "enterprise":
        if enterprise not in (None, principal.nib):
            raise Forbidden("an enterprise sees only its own assignments")
        enterprise = principal.nib
    if principal.role == "regional":
        where["province"] = principal.province
    if enterprise:
        where["nib"] = enterprise
    if partner:
        where["partner_id"] = partner
    if status:
        where["status"] = status
    async with store.transaction() as uow:
        return await AssignmentRepository(uow).find(where, limit=limit, cursor=cursor)
