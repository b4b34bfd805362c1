"""Training HTTP API: each endpoint parses, runs one handler or query, and answers."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel

from contracts.training import CourseKind
from contracts.values import Nib
from ikmkit.auth import CurrentCaller
from ikmkit.service.http import BULK_ROUTE
from ikmkit.service.idempotency import IDEMPOTENT_ROUTE, IdempotencyKey, idempotent
from ikmkit.service.limits import Code, Cursor, Text
from ikmkit.service.listing import Listing
from ikmkit.service.runtime import deps_of
from services.training import queries
from services.training.bootstrap import Training
from services.training.commands import (
    AssignMentor,
    BulkEnrollment,
    CancelEnrollment,
    EnrollParticipants,
    RecordAttendance,
    RecordPlacement,
    ScheduleCourse,
)
from services.training.domain.mentoring import AssignmentStatus, MentorAssignment
from services.training.domain.model import Course
from services.training.domain.participants import (
    Enrollment,
    EnrollmentStatus,
    ParticipantDetails,
)
from services.training.handlers import courses, enrollments, mentoring
from services.training.handlers.courses import CompletionOutcome
from services.training.handlers.enrollments import BulkOutcome
from services.training.queries import CertificateCheck, CourseQuery, TrainingStats

router = APIRouter(tags=["training"])


async def _training(request: Request) -> Training:
    return deps_of(request, Training)


Deps = Annotated[Training, Depends(_training)]


class Cancellation(BaseModel):
    promoted_participant_id: str | None


# --- courses ----------------------------------------------------------------------------------


_SCHEDULE_COURSE = idempotent(courses.schedule_course, Course, "POST /courses")


@router.post("/courses", status_code=status.HTTP_201_CREATED, openapi_extra=IDEMPOTENT_ROUTE)
async def schedule_course(
    body: ScheduleCourse, deps: Deps, caller: CurrentCaller, key: IdempotencyKey
) -> Course:
    """Schedule a course. Without a ``course_id`` each request is a new course: send an
    ``Idempotency-Key`` so that a retry answers the first one (docs/training.md)."""
    return await deps.units.run(_SCHEDULE_COURSE, key, body, caller)


@router.get("/courses")
async def list_courses(
    deps: Deps,
    caller: CurrentCaller,
    kind: CourseKind | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    province: Code | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor | None = None,
) -> Listing[Course]:
    query = CourseQuery(kind, from_, to, province, limit, cursor)
    return await deps.units.read(queries.list_courses, query, caller)


@router.get("/courses/{course_id}")
async def get_course(course_id: str, deps: Deps, caller: CurrentCaller) -> Course:
    return await deps.units.read(queries.get_course, course_id, caller)


# --- enrollment -------------------------------------------------------------------------------


@router.post("/courses/{course_id}/enrollments", status_code=status.HTTP_201_CREATED)
async def enroll(
    course_id: str, body: ParticipantDetails, deps: Deps, caller: CurrentCaller
) -> Enrollment:
    """One participant: 201 with status ``enrolled`` or ``waitlisted``."""
    cmd = EnrollParticipants(course_id=course_id, participants=[body])
    return await deps.units.run(enrollments.enroll, cmd, caller, deps.keys)


@router.post("/courses/{course_id}/enrollments/bulk", openapi_extra=BULK_ROUTE)
async def enroll_many(
    course_id: str, body: BulkEnrollment, deps: Deps, caller: CurrentCaller
) -> BulkOutcome:
    """Many participants (e.g. a webinar's registrations); refused rows are listed in ``errors``
    (row numbers start at 1), the others are enrolled or waitlisted."""
    cmd = EnrollParticipants(course_id=course_id, participants=body.participants)
    return await deps.units.run(enrollments.enroll_many, cmd, caller, deps.keys)


@router.delete("/courses/{course_id}/enrollments/{participant_id}")
async def cancel_enrollment(
    course_id: str,
    participant_id: str,
    deps: Deps,
    caller: CurrentCaller,
    reason: Text | None = None,
) -> Cancellation:
    cmd = CancelEnrollment(course_id=course_id, participant_id=participant_id, reason=reason)
    promoted = await deps.units.run(enrollments.cancel_enrollment, cmd, caller)
    return Cancellation(promoted_participant_id=promoted.participant_id if promoted else None)


@router.get("/courses/{course_id}/participants")
async def participants(
    course_id: str,
    deps: Deps,
    caller: CurrentCaller,
    status: EnrollmentStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor | None = None,
) -> Listing[Enrollment]:
    return await deps.units.read(
        queries.participants_of, course_id, status, caller, limit=limit, cursor=cursor
    )


@router.post("/courses/{course_id}/attendance", openapi_extra=BULK_ROUTE)
async def record_attendance(
    course_id: str, body: RecordAttendance, deps: Deps, caller: CurrentCaller
) -> dict[str, int]:
    recorded = await deps.units.run(courses.record_attendance, course_id, body, caller)
    return {"recorded": recorded}


@router.post("/courses/{course_id}/complete")
async def complete_course(course_id: str, deps: Deps, caller: CurrentCaller) -> CompletionOutcome:
    return await deps.units.run(courses.complete_course, course_id, caller, deps.keys)


@router.post("/courses/{course_id}/placements", status_code=status.HTTP_201_CREATED)
async def record_placement(
    course_id: str, body: RecordPlacement, deps: Deps, caller: CurrentCaller
) -> Enrollment:
    return await deps.units.run(courses.record_placement, course_id, body, caller)


@router.get("/certificates/{number}")
async def verify_certificate(number: str, deps: Deps, caller: CurrentCaller) -> CertificateCheck:
    return await deps.units.read(queries.verify_certificate, number, deps.keys)


# --- mentors ----------------------------------------------------------------------------------


@router.post("/mentor-assignments", status_code=status.HTTP_201_CREATED)
async def assign_mentor(body: AssignMentor, deps: Deps, caller: CurrentCaller) -> MentorAssignment:
    """Refused with 409 and the reason (``conflict.mou_required``, ``mou_expired``,
    ``mou_terminated``, ``mou_not_yet_valid``) unless a signed, unexpired technical-assistance
    MoU covers the partner."""
    return await deps.units.run(mentoring.assign_mentor, body, caller)


@router.get("/mentor-assignments")
async def list_assignments(
    deps: Deps,
    caller: CurrentCaller,
    enterprise: Nib | None = None,
    partner: Code | None = None,
    status: AssignmentStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor | None = None,
) -> Listing[MentorAssignment]:
    return await deps.units.read(
        queries.list_assignments,
        caller,
        enterprise=enterprise,
        partner=partner,
        status=status,
        limit=limit,
        cursor=cursor,
    )


@router.get("/mentor-assignments/{assignment_id}")
async def get_assignment(assignment_id: str, deps: Deps, caller: CurrentCaller) -> MentorAssignment:
    return await deps.units.read(queries.get_assignment, assignment_id, caller)


@router.post("/mentor-assignments/{assignment_id}/end")
async def end_assignment(
    assignment_id: Code, deps: Deps, caller: CurrentCaller
) -> MentorAssignment:
    """Ends an active assignment before its MoU does (``MentorAssignmentEnded`` with reason
    ``ended_by_officer``): the ministry, a service, or the partner whose mentor it is. An ended
    one is 409 ``conflict.assignment_ended``; someone else's is 404."""
    return await deps.units.run(mentoring.end_assignment, assignment_id, caller)


@router.get("/stats")
async def stats(deps: Deps, caller: CurrentCaller, province: Code | None = None) -> TrainingStats:
    """National figures, or one province's (``?province=``); a regional officer always gets
    their own province's (asking for another is 403)."""
    return await deps.units.read(queries.stats, caller, province)
