"""Training HTTP API: translates requests into use-case calls."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from pydantic import BaseModel, Field

from contracts.training import CourseKind
from ikmkit.auth import CurrentCaller
from ikmkit.service import limits
from ikmkit.service.http import BULK_ROUTE
from ikmkit.service.limits import Code, Cursor, Text
from ikmkit.service.runtime import RuntimeDep, runtime_of
from services.training import mentoring, service
from services.training.domain import Course, Enrollment, MentorAssignment, ParticipantDetails
from services.training.settings import TrainingSettings

router = APIRouter(tags=["training"])


async def keys_of(request: Request) -> service.Keys:
    settings = runtime_of(request).settings
    assert isinstance(settings, TrainingSettings)
    return service.Keys(
        certificate=settings.certificate_key.get_secret_value().encode(),
        pseudonym=settings.pseudonym_key.get_secret_value().encode(),
    )


KeysDep = Annotated[service.Keys, Depends(keys_of)]


class Listing[T](BaseModel):
    items: list[T]
    next_cursor: str | None


class BulkEnrollment(BaseModel):
    participants: list[ParticipantDetails] = Field(min_length=1, max_length=limits.BULK_MAX)


class Cancellation(BaseModel):
    promoted_participant_id: str | None


# --- courses ----------------------------------------------------------------------------------


@router.post("/courses", status_code=status.HTTP_201_CREATED)
async def schedule_course(
    body: service.ScheduleCourse, runtime: RuntimeDep, principal: CurrentCaller
) -> Course:
    service.authorize_course_management(principal, body)
    return await service.schedule_course(body, principal.subject, runtime.store, runtime.outbox)


@router.get("/courses")
async def list_courses(
    runtime: RuntimeDep,
    principal: CurrentCaller,
    kind: CourseKind | None = None,
    from_: Annotated[date | None, Query(alias="from")] = None,
    to: date | None = None,
    province: Code | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor | None = None,
) -> Listing[Course]:
    query = service.CourseQuery(kind, from_, to, province, limit, cursor)
    items, next_cursor = await service.list_courses(query, principal, runtime.store)
    return Listing(items=items, next_cursor=next_cursor)


@router.get("/courses/{course_id}")
async def get_course(course_id: str, runtime: RuntimeDep, principal: CurrentCaller) -> Course:
    return await service.get_course(course_id, principal, runtime.store)


# --- enrollment -------------------------------------------------------------------------------


@router.post("/courses/{course_id}/enrollments", status_code=status.HTTP_201_CREATED)
async def enroll(
    course_id: str,
    body: ParticipantDetails,
    runtime: RuntimeDep,
    principal: CurrentCaller,
    keys: KeysDep,
) -> Enrollment:
    """One participant: 201 with status ``enrolled`` or ``waitlisted``."""
    return await service.enroll(course_id, body, principal, runtime.store, runtime.outbox, keys)


@router.post("/courses/{course_id}/enrollments/bulk", openapi_extra=BULK_ROUTE)
async def enroll_many(
    course_id: str,
    body: BulkEnrollment,
    runtime: RuntimeDep,
    principal: CurrentCaller,
    keys: KeysDep,
) -> service.BulkOutcome:
    """Many participants (e.g. a webinar's registrations); refused rows are listed in ``errors``
    (row numbers start at 1), the others are enrolled or waitlisted."""
    return await service.enroll_many(
        course_id, body.participants, principal, runtime.store, runtime.outbox, keys
    )


@router.delete("/courses/{course_id}/enrollments/{participant_id}")
async def cancel_enrollment(
    course_id: str,
    participant_id: str,
    runtime: RuntimeDep,
    principal: CurrentCaller,
    reason: Text | None = None,
) -> Cancellation:
    promoted = await service.cancel_enrollment(
        course_id, participant_id, principal, reason, runtime.store, runtime.outbox
    )
    return Cancellation(promoted_participant_id=promoted.participant_id if promoted else None)


@router.get("/courses/{course_id}/participants")
async def participants(
    course_id: str,
    runtime: RuntimeDep,
    principal: CurrentCaller,
    status: Code | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Cursor | None = None,
) -> Listing[Enrollment]:
    items, next_cursor = await service.participants_of(
        course_id, status, principal, runtime.store, limit=limit, cursor=cursor
    )
    return Listing(items=items, next_cursor=next_cursor)


@router.post("/courses/{course_id}/attendance", openapi_extra=BULK_ROUTE)
async def record_attendance(
    course_id: str, body: service.RecordAttendance, runtime: RuntimeDep, principal: CurrentCaller
) -> dict[str, int]:
    recorded = await service.record_attendance(
        course_id, body, principal, runtime.store, runtime.outbox
    )
    return {"recorded": recorded}


@router.post("/courses/{course_id}/complete")
async def complete_course(
    course_id: str, runtime: RuntimeDep, principal: CurrentCaller, keys: KeysDep
) -> service.CompletionOutcome:
    return await service.complete_course(course_id, principal, runtime.store, runtime.outbox, keys)


@router.post("/courses/{course_id}/placements", status_code=status.HTTP_201_CREATED)
async def record_placement(
    course_id: str, body: service.RecordPlacement, runtime: RuntimeDep, principal: CurrentCaller
) -> Enrollment:
    return await service.record_placement(course_id, body, principal, runtime.store, runtime.outbox)


@router.get("/certificates/{number}")
async def verify_certificate(
    number: str, runtime: RuntimeDep, principal: CurrentCaller, keys: KeysDep
) -> service.CertificateCheck:
    return await service.verify_certificate(number, runtime.store, keys)


# --- mentors ----------------------------------------------------------------------------------


@router.post("/mentor-assignments", status_code=status.HTTP_201_CREATED)
async def assign_mentor(
    body: mentoring.AssignMentor, runtime: RuntimeDep, principal: CurrentCaller
) -> MentorAssignment:
    """Refused with 409 and the reason (``conflict.mou_required``, ``mou_expired``,
    ``mou_terminated``, ``mou_not_yet_valid``) unless a signed, unexpired technical-assistance
    MoU covers the partner."""
    return await mentoring.assign_mentor(body, principal, runtime.store, runtime.outbox)


@router.get("/mentor-assignments")
async def list_assignments(
    runtime: RuntimeDep,
    principal: CurrentCaller,
    enterprise: Code | None = None,
    partner: Code | None = None,
    status: Code | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Cursor | None = None,
) -> Listing[MentorAssignment]:
    items, next_cursor = await mentoring.list_assignments(
        principal,
        runtime.store,
        enterprise=enterprise,
        partner=partner,
        status=status,
        limit=limit,
        cursor=cursor,
    )
    return Listing(items=items, next_cursor=next_cursor)


@router.get("/mentor-assignments/{assignment_id}")
async def get_assignment(
    assignment_id: str, runtime: RuntimeDep, principal: CurrentCaller
) -> MentorAssignment:
    return await mentoring.get_assignment(assignment_id, principal, runtime.store)


@router.get("/stats")
async def stats(
    runtime: RuntimeDep, principal: CurrentCaller, province: Code | None = None
) -> service.TrainingStats:
    """National figures, or one province's (``?province=``); a regional officer always gets
    their own province's (asking for another is 403)."""
    return await service.stats(principal, runtime.store, province)
