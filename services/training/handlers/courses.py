"""Courses: scheduling, attendance, completion with certificates, placements."""

from __future__ import annotations

import uuid

from pydantic import BaseModel

from ikmkit.auth import Caller
from ikmkit.service.errors import Conflict
from ikmkit.store import DuplicateKey
from services.training.commands import RecordAttendance, RecordPlacement, ScheduleCourse
from services.training.domain import access, rules
from services.training.domain.model import Course
from services.training.domain.participants import Enrollment
from services.training.domain.rules import Keys
from services.training.store import TrainingUnit


class CompletionOutcome(BaseModel):
    course_id: str
    completed: int
    not_completed: int
    certificates: list[str]


async def schedule_course(uow: TrainingUnit, cmd: ScheduleCourse, caller: Caller) -> Course:
    access.authorize_scheduling(caller, cmd)
    draft = Course(
        **cmd.model_dump(exclude={"course_id"}),
        course_id=cmd.course_id or f"c-{uuid.uuid4().hex[:12]}",
        scheduled_by=caller.subject,
        scheduled_at=uow.now,
    )
    course = uow.collect(draft.schedule())
    try:
        return await uow.courses.add(course)
    except DuplicateKey as exc:
        raise Conflict(f"course {course.course_id} exists", field="course_id") from exc


async def record_attendance(
    uow: TrainingUnit, course_id: str, cmd: RecordAttendance, caller: Caller
) -> int:
    course = await uow.courses.get(course_id)
    access.authorize_course_management(caller, course)
    ids = [rules.enrollment_id(course_id, m.participant_id) for m in cmd.marks]
    found = await uow.enrollments.get_many(ids)
    marks = [
        (m.participant_id, found.get(eid), m.present) for m, eid in zip(cmd.marks, ids, strict=True)
    ]
    marked = uow.collect(course.record_attendance(cmd.session_id, marks, caller.subject, uow.now))
    await uow.enrollments.set_attendance(marked)
    return len(cmd.marks)


async def complete_course(
    uow: TrainingUnit, course_id: str, caller: Caller, keys: Keys
) -> CompletionOutcome:
    """Closes a course after its end date: who attended enough completes and is certified."""
    course = await uow.courses.get(course_id)
    access.authorize_course_management(caller, course)
    seated = await uow.enrollments.all_in_course(course_id, "enrolled")
    waiting = await uow.enrollments.all_in_course(course_id, "waitlisted")
    completed = course.complete(seated, keys.certificate, caller.subject, uow.now, waiting)
    done = uow.collect(completed)
    await uow.enrollments.close(done.passed, done.failed, done.released)
    if done.certificates:
        await uow.certificates.add_many(done.certificates)
    await uow.courses.save(done.course)
    return CompletionOutcome(
        course_id=course_id,
        completed=len(done.passed),
        not_completed=len(done.failed),
        certificates=[c.number for c in done.certificates],
    )


async def record_placement(
    uow: TrainingUnit, course_id: str, cmd: RecordPlacement, caller: Caller
) -> Enrollment:
    """Diklat 3in1's third step: a certified graduate was placed at a company partner."""
    course = await uow.courses.get(course_id)
    access.authorize_course_management(caller, course)
    found = await uow.enrollments.find_one(rules.enrollment_id(course_id, cmd.participant_id))
    done = uow.collect(
        course.place(
            cmd.participant_id,
            found,
            cmd.company_partner_id,
            cmd.position,
            cmd.placed_on,
            caller.subject,
            uow.now,
        )
    )
    saved = await uow.enrollments.save(done.enrollment)
    await uow.placements.add(done.placement)
    [saved] = await uow.enrollments.with_certificates(course_id, [saved])
    return saved
