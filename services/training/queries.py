"""Training's reads: courses, participants, certificates, mentor assignments, statistics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel

from contracts.training import CourseKind
from ikmkit.auth import Caller
from ikmkit.clock import jakarta_date
from ikmkit.service.errors import NotFound
from ikmkit.service.listing import Listing
from ikmkit.store import In, Range
from services.training.domain import access, rules
from services.training.domain.mentoring import MentorAssignment
from services.training.domain.model import Course
from services.training.domain.participants import ADMITTED, Enrollment, EnrollmentStatus
from services.training.domain.rules import Keys
from services.training.store import (
    ASSIGNMENTS,
    CERTIFICATES,
    COURSES,
    ENROLLMENTS,
    PLACEMENTS,
    TrainingUnit,
)

ALL_STATUSES: list[EnrollmentStatus] = [
    "enrolled",
    "waitlisted",
    "completed",
    "not_completed",
    "cancelled",
]


async def get_course(uow: TrainingUnit, course_id: str, caller: Caller) -> Course:
    course = await uow.courses.get(course_id)
    access.require_visible_course(caller, course)
    return course


@dataclass(frozen=True)
class CourseQuery:
    kind: CourseKind | None = None
    starts_from: date | None = None
    starts_to: date | None = None
    province: str | None = None
    limit: int = 50
    cursor: str | None = None


async def list_courses(uow: TrainingUnit, query: CourseQuery, caller: Caller) -> Listing[Course]:
    where: dict[str, Any] = {}
    province = access.visible_courses(caller, query.province)
    if province:
        where["province"] = province
    if query.kind:
        where["kind"] = query.kind
    if query.starts_from or query.starts_to:
        where["start_date"] = Range(
            gte=query.starts_from.isoformat() if query.starts_from else None,
            lt=(query.starts_to + timedelta(days=1)).isoformat() if query.starts_to else None,
        )
    items, cursor = await uow.courses.page(
        where, order_by=[("start_date", 1)], limit=query.limit, cursor=query.cursor
    )
    return Listing(items=items, next_cursor=cursor)


async def participants_of(
    uow: TrainingUnit,
    course_id: str,
    status: str | None,
    caller: Caller,
    *,
    limit: int,
    cursor: str | None,
) -> Listing[Enrollment]:
    """The course's participants, for those who manage it."""
    access.authorize_course_management(caller, await uow.courses.get(course_id))
    statuses: list[Any] = [status] if status else ALL_STATUSES
    page, next_cursor = await uow.enrollments.in_course(
        course_id, statuses, limit=limit, cursor=cursor
    )
    items = await uow.enrollments.with_certificates(course_id, page)
    return Listing(items=items, next_cursor=next_cursor)


class CertificateCheck(BaseModel):
    certificate_number: str
    genuine: bool
    course_id: str
    course_title: str
    holder_name: str
    participant_id: str
    issued_on: date


async def verify_certificate(uow: TrainingUnit, number: str, keys: Keys) -> CertificateCheck:
    """A certificate is genuine if it is on record and its number matches the HMAC of its
    fields (a tampered record or a copied number on another name does not)."""
    normalized = rules.check_certificate_format(number)
    found = await uow.certificates.find_one(normalized)
    if found is None:
        raise NotFound(f"no certificate {normalized} was issued", field="certificate_number")
    return CertificateCheck(
        certificate_number=normalized,
        genuine=rules.certificate_is_genuine(
            keys.certificate, normalized, found.course_id, found.participant_id, found.issued_on
        ),
        course_id=found.course_id,
        course_title=found.course_title,
        holder_name=found.holder_name,
        participant_id=found.participant_id,
        issued_on=found.issued_on,
    )


async def get_assignment(uow: TrainingUnit, assignment_id: str, caller: Caller) -> MentorAssignment:
    found = await uow.assignments.find_one(assignment_id)
    # Someone else's assignment is "not found": its existence does not leak.
    if found is None or not access.can_see_assignment(caller, found):
        raise access.hidden_assignment(assignment_id)
    return found


async def list_assignments(
    uow: TrainingUnit,
    caller: Caller,
    *,
    enterprise: str | None,
    partner: str | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Listing[MentorAssignment]:
    """Ministry and services see all; a partner its own; an enterprise its own; a regional
    officer those in their province."""
    where = access.visible_assignments(caller, enterprise, partner)
    if status:
        where["status"] = status
    items, next_cursor = await uow.assignments.newest_first(where, limit=limit, cursor=cursor)
    return Listing(items=items, next_cursor=next_cursor)


class TrainingStats(BaseModel):
    province_scope: str | None
    """The province the figures are limited to (a regional officer's own), else national."""
    courses: int
    courses_by_kind: dict[str, int]
    participants: int
    """Seats taken (a person in two courses counts twice, as the ministry reports it)."""
    distinct_people: int
    participants_by_kind: dict[str, int]
    participants_by_country: dict[str, int]
    participants_by_province: dict[str, int]
    waitlisted: int
    completions: int
    certificates: int
    placements: int
    active_mentor_assignments: int


async def stats(uow: TrainingUnit, caller: Caller, province: str | None = None) -> TrainingStats:
    """National figures, or one province's: courses held there, and participants, certificates,
    placements and mentor assignments of people and enterprises from there."""
    scope = access.province_scope(caller, province)
    where: dict[str, Any] = {} if scope is None else {"province": scope}
    by_kind = await uow.tx.group(COURSES, ["kind"], where)
    participants = await _participants(uow, where)
    return TrainingStats(
        province_scope=scope,
        courses=sum(r.count for r in by_kind),
        courses_by_kind={str(r.key["kind"]): r.count for r in by_kind},
        **participants,
        waitlisted=await uow.tx.count(ENROLLMENTS, {**where, "status": "waitlisted"}),
        completions=await uow.tx.count(ENROLLMENTS, {**where, "status": "completed"}),
        certificates=await uow.tx.count(CERTIFICATES, where),
        placements=await uow.tx.count(PLACEMENTS, where),
        active_mentor_assignments=await _assignments_in_force(uow, where),
    )


async def _participants(uow: TrainingUnit, where: dict[str, Any]) -> dict[str, Any]:
    admitted = {**where, "status": In(list(ADMITTED))}

    async def per(field: str) -> dict[str, int]:
        rows = await uow.tx.group(ENROLLMENTS, [field], admitted)
        return {str(r.key[field] or "none"): r.count for r in rows}

    by_kind = await per("kind")
    return {
        "participants": sum(by_kind.values()),
        "distinct_people": len(await uow.tx.group(ENROLLMENTS, ["participant_id"], admitted)),
        "participants_by_kind": by_kind,
        "participants_by_country": await per("country"),
        "participants_by_province": await per("province"),
    }


async def _assignments_in_force(uow: TrainingUnit, where: dict[str, Any]) -> int:
    """Active and within its MoU's term: one whose MoU ended counts out even while the
    registry's MoUExpired is late (``ends_on`` is the MoU's ``valid_until``)."""
    today = jakarta_date(uow.now).isoformat()
    return await uow.tx.count(
        ASSIGNMENTS, {**where, "status": "active", "ends_on": Range(gte=today)}
    )
