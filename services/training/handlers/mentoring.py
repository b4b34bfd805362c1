"""Mentors under MoU: assignments are accepted under a covering MoU and end with it."""

from __future__ import annotations

import uuid
from datetime import datetime

from contracts.training import AssignmentEndReason
from ikmkit.auth import Caller
from ikmkit.clock import jakarta_date
from services.training.commands import AssignMentor
from services.training.domain import access
from services.training.domain.mentoring import MentorAssignment
from services.training.replicas import ENTERPRISES
from services.training.store import TrainingUnit


async def assign_mentor(uow: TrainingUnit, cmd: AssignMentor, caller: Caller) -> MentorAssignment:
    """Refused (409, naming why) unless a signed, valid technical-assistance MoU covers the
    partner on the first day; the assignment ends with that MoU."""
    access.authorize_assignment(caller, cmd.partner_id)
    assignment = MentorAssignment.assign(
        assignment_id=f"ma-{uuid.uuid4().hex[:12]}",
        nib=cmd.nib,
        enterprise=await ENTERPRISES.get(uow.tx, cmd.nib),
        partner_id=cmd.partner_id,
        mentor_name=cmd.mentor_name,
        mentor_email=cmd.mentor_email,
        starts_on=cmd.starts_on or jakarta_date(uow.now),
        coverages=await uow.coverage.of_partner(cmd.partner_id),
        by=caller.subject,
        at=uow.now,
        active=await uow.assignments.active_of(cmd.nib, cmd.partner_id),
    )
    return await uow.assignments.add(uow.collect(assignment))


async def end_assignment(uow: TrainingUnit, assignment_id: str, caller: Caller) -> MentorAssignment:
    """An officer (or the partner) ends one assignment before its MoU does: the mentor left,
    the enterprise no longer needs one. Someone else's assignment is "not found"."""
    found = await uow.assignments.find_one(assignment_id)
    if found is None or not access.can_see_assignment(caller, found):
        raise access.hidden_assignment(assignment_id)
    access.authorize_assignment(caller, found.partner_id)
    return await uow.assignments.save(uow.collect(found.end("ended_by_officer", uow.now)))


async def end_assignments_under(
    uow: TrainingUnit, mou_id: str, reason: AssignmentEndReason, at: datetime
) -> None:
    """The MoU ended: so does every assignment still active under it."""
    for assignment in await uow.assignments.active_under(mou_id):
        await uow.assignments.save(uow.collect(assignment.end(reason, at)))
