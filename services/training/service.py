"""Training use cases: courses, enrollment with a waitlist, attendance, completion,
certificates, placements, statistics, and the enterprise replica.

Each use case takes a command and the ports; state and the events it emits commit in
one unit of work. Seat allocation reads and rewrites the course document (optimistic
concurrency), so two racing enrollments cannot both take the last seat: the loser's
unit of work is retried from the start.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, Field

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.registry import (
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
)
from contracts.training import (
    AttendanceRecorded,
    CertificateIssued,
    CourseCompleted,
    CourseKind,
    CourseScheduled,
    CourseSession,
    EnrollmentCancelled,
    Language,
    ParticipantEnrolled,
    ParticipantWaitlisted,
    PlacementRecorded,
    TrainingCompleted,
)
from ikmkit.auth import Caller
from ikmkit.messaging.outbox import Outbox
from ikmkit.service.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound
from ikmkit.service.limits import (
    MAX_BULK,
    MAX_SESSIONS,
    Code,
    Codes,
    Count,
    Name,
    Names,
    Percent,
    Url,
)
from ikmkit.store import DuplicateKey, In, Range, Store, Transaction
from ikmkit.store.retry import retry_on_conflict
from services.training import domain
from services.training.domain import ADMITTED, Course, Enrollment, ParticipantDetails
from services.training.store import (
    ASSIGNMENTS,
    CERTIFICATES,
    COURSES,
    ENROLLMENTS,
    PLACEMENTS,
    CourseRepository,
    EnrollmentRepository,
    EnterpriseReplica,
)

RETRIES = 10


@dataclass(frozen=True)
class Keys:
    certificate: bytes
    pseudonym: bytes


async def retrying[T](work: Callable[[], Awaitable[T]]) -> T:
    """Run a unit of work again when it lost a race (version or transaction conflict)."""
    return await retry_on_conflict(work, max_attempts=RETRIES, base_delay=0.01, max_delay=0.5)


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


# --- who may do what --------------------------------------------------------------------------


def authorize_course_management(principal: Caller, course: Course | ScheduleCourse) -> None:
    """Ministry: any course; regional: courses in their province; partner: courses it organizes.

    An existing course of another province is reported to a regional officer as not found
    (as the registry does for enterprises), so its existence and contents do not leak."""
    principal.require("ministry", "regional", "partner", "service")
    if principal.role == "regional" and course.province != principal.province:
        if isinstance(course, Course):
            raise NotFound(f"no course {course.course_id}")
        raise Forbidden(
            "regional officers manage only courses in their own province",
            field="province",
            rule="other_province",
        )
    if principal.role == "partner" and principal.partner_id not in (
        course.organizer_id,
        *course.co_organizer_ids,
    ):
        raise Forbidden("a partner manages only the courses it organizes")


def ensure_sees_course(principal: Caller, course: Course) -> None:
    """Courses are a catalog every role may read, except that a regional officer sees only
    those of their own province (as in ``list_courses``)."""
    if not principal.sees_province(course.province):
        raise NotFound(f"no course {course.course_id}")


def province_scope(principal: Caller, requested: str | None) -> str | None:
    """The province a statistic is limited to: a regional officer's own, whatever is asked."""
    principal.require("ministry", "regional", "service")
    if principal.role != "regional":
        return None if requested is None else domain.check_province(requested)
    if requested not in (None, principal.province):
        raise Forbidden(
            f"a regional officer of province {principal.province} sees only that province",
            field="province",
            rule="other_province",
        )
    return principal.province


def authorize_enrollment(principal: Caller, course: Course, nibs: Sequence[str | None]) -> None:
    """An enterprise may enroll its own people; organizers and officers anyone."""
    if principal.role == "enterprise":
        if any(nib != principal.nib for nib in nibs):
            raise Forbidden("an enterprise enrolls only its own owner and workers (its NIB)")
        return
    authorize_course_management(principal, course)


# --- courses ----------------------------------------------------------------------------------


class SessionInput(CourseSession):
    session_id: Code
    title: Name
    venue: Name | None = None
    host: Name | None = None


class ScheduleCourse(BaseModel):
    title: Name
    kind: CourseKind
    organizer_id: Code
    co_organizer_ids: Codes = []
    start_date: date
    end_date: date
    venues: Names = []
    online_url: Url | None = None
    province: Code | None = None
    country: Code = domain.INDONESIA
    eligible_countries: Codes = []
    capacity: Count
    language: Language = "id"
    sessions: Annotated[list[SessionInput], MAX_SESSIONS] = []
    min_attendance_percent: Percent = 75
    course_id: Code | None = Field(None, description="Chosen by the caller, else generated.")


async def schedule_course(
    cmd: ScheduleCourse, by: str, store: Store, outbox: Outbox, now: datetime | None = None
) -> Course:
    host, eligible = domain.validate_course_fields(
        title=cmd.title,
        start_date=cmd.start_date,
        end_date=cmd.end_date,
        capacity=cmd.capacity,
        venues=cmd.venues,
        online_url=cmd.online_url,
        kind=cmd.kind,
        province=cmd.province,
        country=cmd.country,
        eligible_countries=cmd.eligible_countries,
        sessions=cmd.sessions,
        min_attendance_percent=cmd.min_attendance_percent,
    )
    at = _now(now)
    course = Course(
        **cmd.model_dump(exclude={"course_id", "country", "eligible_countries", "sessions"}),
        course_id=cmd.course_id or f"c-{uuid.uuid4().hex[:12]}",
        country=host,
        eligible_countries=eligible,
        sessions=cmd.sessions or domain.default_sessions(cmd.start_date, bool(cmd.online_url)),
        scheduled_by=by,
        scheduled_at=at,
    )
    try:
        async with store.transaction() as uow:
            saved = await CourseRepository(uow).add(course)
            await outbox.add(uow, _scheduled(saved))
    except DuplicateKey as exc:
        raise Conflict(f"course {course.course_id} exists", field="course_id") from exc
    return saved


def _scheduled(c: Course) -> CourseScheduled:
    return CourseScheduled(
        course_id=c.course_id,
        title=c.title,
        kind=c.kind,
        organizer_id=c.organizer_id,
        co_organizer_ids=c.co_organizer_ids,
        start_date=c.start_date,
        end_date=c.end_date,
        venues=c.venues,
        online_url=c.online_url,
        province=c.province,
        country=c.country,
        eligible_countries=c.eligible_countries,
        capacity=c.capacity,
        language=c.language,
        sessions=c.sessions,
        min_attendance_percent=c.min_attendance_percent,
        scheduled_by=c.scheduled_by,
        scheduled_at=c.scheduled_at,
    )


async def get_course(course_id: str, principal: Caller, store: Store) -> Course:
    async with store.transaction() as uow:
        course = await _course(uow, course_id)
    ensure_sees_course(principal, course)
    return course


async def _course(uow: Transaction, course_id: str) -> Course:
    course = await CourseRepository(uow).get(course_id)
    if course is None:
        raise NotFound(f"no course {course_id}")
    return course


@dataclass(frozen=True)
class CourseQuery:
    kind: CourseKind | None = None
    starts_from: date | None = None
    starts_to: date | None = None
    province: str | None = None
    limit: int = 50
    cursor: str | None = None


async def list_courses(
    query: CourseQuery, principal: Caller, store: Store
) -> tuple[list[Course], str | None]:
    province = query.province
    if principal.role == "regional":
        if province not in (None, principal.province):
            raise Forbidden(
                "regional officers see only courses in their own province",
                field="province",
                rule="other_province",
            )
        province = principal.province
    where: dict[str, Any] = {}
    if query.kind:
        where["kind"] = query.kind
    if province:
        where["province"] = domain.check_province(province)
    if query.starts_from or query.starts_to:
        where["start_date"] = Range(
            gte=query.starts_from.isoformat() if query.starts_from else None,
            lt=(query.starts_to + timedelta(days=1)).isoformat() if query.starts_to else None,
        )
    async with store.transaction() as uow:
        return await CourseRepository(uow).find(where, limit=query.limit, cursor=query.cursor)


# --- enrollment -------------------------------------------------------------------------------


class RowError(BaseModel):
    row: int
    field: str | None
    rule: str | None
    message: str


class RowResult(BaseModel):
    row: int
    participant_id: str
    status: str


class BulkOutcome(BaseModel):
    course_id: str
    enrolled: int = 0
    waitlisted: int = 0
    results: list[RowResult] = []
    errors: list[RowError] = []


@dataclass
class _Accepted:
    row: int
    pid: str
    person: ParticipantDetails


async def enroll(
    course_id: str,
    participant: ParticipantDetails,
    principal: Caller,
    store: Store,
    outbox: Outbox,
    keys: Keys,
    now: datetime | None = None,
) -> Enrollment:
    """One participant; any refusal is raised (422 naming the field, or 409)."""
    outcome, failures = await _enroll_rows(
        course_id, [participant], principal, store, outbox, keys, now
    )
    if failures:
        raise failures[0]
    async with store.transaction() as uow:
        found = await EnrollmentRepository(uow).get(
            domain.enrollment_id(course_id, outcome.results[0].participant_id)
        )
    assert found is not None
    return found


async def enroll_many(
    course_id: str,
    participants: Sequence[ParticipantDetails],
    principal: Caller,
    store: Store,
    outbox: Outbox,
    keys: Keys,
    now: datetime | None = None,
) -> BulkOutcome:
    """Many participants in one unit of work; refused rows are reported, the rest enrolled."""
    outcome, _ = await _enroll_rows(course_id, participants, principal, store, outbox, keys, now)
    return outcome


async def _enroll_rows(
    course_id: str,
    participants: Sequence[ParticipantDetails],
    principal: Caller,
    store: Store,
    outbox: Outbox,
    keys: Keys,
    now: datetime | None,
) -> tuple[BulkOutcome, list[AppError]]:
    at = _now(now)

    async def work() -> tuple[BulkOutcome, list[AppError]]:
        async with store.transaction() as uow:
            return await _enroll_in(uow, course_id, participants, principal, outbox, keys, at)

    return await retrying(work)


async def _enroll_in(
    uow: Transaction,
    course_id: str,
    participants: Sequence[ParticipantDetails],
    principal: Caller,
    outbox: Outbox,
    keys: Keys,
    at: datetime,
) -> tuple[BulkOutcome, list[AppError]]:
    course = await _course(uow, course_id)
    course.require_open()
    authorize_enrollment(principal, course, [p.nib for p in participants])
    outcome = BulkOutcome(course_id=course_id)
    failures: list[AppError] = []

    def refuse(row: int, exc: AppError) -> None:
        failures.append(exc)
        outcome.errors.append(
            RowError(row=row, field=exc.field, rule=exc.rule, message=exc.message)
        )

    accepted = await _validated(uow, course, participants, keys, refuse)
    repo = EnrollmentRepository(uow)
    existing = await repo.get_many([domain.enrollment_id(course_id, a.pid) for a in accepted])
    fresh: list[Enrollment] = []
    placed: list[Event] = []
    for item in accepted:
        previous = existing.get(domain.enrollment_id(course_id, item.pid))
        try:
            domain.refuse_duplicate(previous)
        except AppError as exc:
            refuse(item.row, exc)
            continue
        course, status, seq = course.take_place()
        enrollment = domain.new_enrollment(course, item.pid, item.person, status, seq, at, previous)
        if previous is None:
            fresh.append(enrollment)
        else:
            await repo.save(enrollment)
        placed.append(_placed_event(course, enrollment, at))
        outcome.results.append(RowResult(row=item.row, participant_id=item.pid, status=status))
        if status == "enrolled":
            outcome.enrolled += 1
        else:
            outcome.waitlisted += 1
    if outcome.results:
        await repo.add_many(fresh)
        await CourseRepository(uow).save(course)
        await outbox.add_many(uow, placed)
    return outcome, failures


async def _validated(
    uow: Transaction,
    course: Course,
    participants: Sequence[ParticipantDetails],
    keys: Keys,
    refuse: Callable[[int, AppError], None],
) -> list[_Accepted]:
    nibs = [p.nib.strip() for p in participants if p.nib]
    enterprises = await EnterpriseReplica(uow).get_many(nibs)
    accepted: list[_Accepted] = []
    seen: set[str] = set()
    for row, raw in enumerate(participants, start=1):
        known = enterprises.get(raw.nib.strip()) if raw.nib else None
        try:
            person = domain.validate_participant(
                raw, course, known.get("province") if known else None, known is not None
            )
            pid = domain.participant_id(keys.pseudonym, domain.person_key(person))
            if pid in seen:
                raise Conflict(
                    "the same person appears twice in this request",
                    field="participant",
                    rule="duplicate_enrollment",
                )
        except AppError as exc:
            refuse(row, exc)
            continue
        seen.add(pid)
        accepted.append(_Accepted(row, pid, person))
    return accepted


def _who(e: Enrollment, c: Course) -> dict[str, Any]:
    return {
        "course_id": c.course_id,
        "participant_id": e.participant_id,
        "participant_name": e.name,
        "participant_email": e.email,
        "preferred_language": e.preferred_language,
        "participant_kind": e.kind,
        "nib": e.nib,
        "province": e.province,
        "country": e.country,
        "course_title": c.title,
        "course_kind": c.kind,
    }


def _placed_event(
    course: Course, e: Enrollment, at: datetime
) -> ParticipantEnrolled | ParticipantWaitlisted:
    if e.status == "enrolled":
        return ParticipantEnrolled(
            **_who(e, course),
            start_date=course.start_date,
            end_date=course.end_date,
            promoted_from_waitlist=e.promoted_from_waitlist,
            enrolled_at=at,
        )
    return ParticipantWaitlisted(
        **_who(e, course), position=course.waitlisted_count, waitlisted_at=at
    )


async def cancel_enrollment(
    course_id: str,
    pid: str,
    principal: Caller,
    reason: str | None,
    store: Store,
    outbox: Outbox,
    now: datetime | None = None,
) -> Enrollment | None:
    """Gives up a seat or a waitlist place; returns the participant promoted to the seat."""
    at = _now(now)

    async def work() -> Enrollment | None:
        async with store.transaction() as uow:
            course = await _course(uow, course_id)
            repo = EnrollmentRepository(uow)
            leaving = await repo.get(domain.enrollment_id(course_id, pid))
            if leaving is None or leaving.status == "cancelled":
                raise NotFound(f"participant {pid} holds no place in course {course_id}")
            authorize_enrollment(principal, course, [leaving.nib])
            was_waitlisted = leaving.status == "waitlisted"
            promoted = None if was_waitlisted else await repo.first_waitlisted(course_id)
            course = course.release(leaving.status, promote=promoted is not None)
            await repo.save(leaving.model_copy(update={"status": "cancelled", "cancelled_at": at}))
            if promoted is not None:
                promoted = await repo.save(
                    promoted.model_copy(
                        update={
                            "status": "enrolled",
                            "enrolled_at": at,
                            "promoted_from_waitlist": True,
                        }
                    )
                )
            await outbox.add(
                uow,
                EnrollmentCancelled(
                    **_who(leaving, course),
                    was_waitlisted=was_waitlisted,
                    reason=reason,
                    promoted_participant_id=promoted.participant_id if promoted else None,
                    cancelled_by=principal.subject,
                    cancelled_at=at,
                ),
            )
            if promoted is not None:
                await outbox.add(uow, _placed_event(course, promoted, at))
            await CourseRepository(uow).save(course)
            return promoted

    return await retrying(work)


async def participants_of(
    course_id: str,
    status: str | None,
    principal: Caller,
    store: Store,
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[Enrollment], str | None]:
    """The course's participants, for those who manage it."""
    statuses: list[Any] = (
        [status]
        if status
        else ["enrolled", "waitlisted", "completed", "not_completed", "cancelled"]
    )
    async with store.transaction() as uow:
        authorize_course_management(principal, await _course(uow, course_id))
        repo = EnrollmentRepository(uow)
        page, next_cursor = await repo.in_course(course_id, statuses, limit=limit, cursor=cursor)
        return await repo.with_certificates(course_id, page), next_cursor


# --- attendance and completion ----------------------------------------------------------------


class AttendanceMark(BaseModel):
    participant_id: Code
    present: bool = True


class RecordAttendance(BaseModel):
    session_id: Code
    marks: Annotated[list[AttendanceMark], MAX_BULK] = Field(min_length=1)


async def record_attendance(
    course_id: str,
    cmd: RecordAttendance,
    principal: Caller,
    store: Store,
    outbox: Outbox,
    now: datetime | None = None,
) -> int:
    """Marks who was present at a session (all-or-nothing); recording again overwrites."""
    at = _now(now)

    async def work() -> int:
        async with store.transaction() as uow:
            course = await _course(uow, course_id)
            authorize_course_management(principal, course)
            course.require_open()
            if cmd.session_id not in course.session_ids():
                raise InvalidInput(
                    f"course {course_id} has no session {cmd.session_id!r}",
                    field="session_id",
                    rule="unknown_session",
                )
            repo = EnrollmentRepository(uow)
            ids = [domain.enrollment_id(course_id, m.participant_id) for m in cmd.marks]
            found = await repo.get_many(ids)
            marked: list[tuple[Enrollment, bool]] = []
            for i, (mark, eid) in enumerate(zip(cmd.marks, ids, strict=True)):
                enrollment = found.get(eid)
                if enrollment is None:
                    raise NotFound(
                        f"participant {mark.participant_id} is not in course {course_id}",
                        field=f"marks[{i}].participant_id",
                    )
                enrollment.require_seat()
                marked.append((enrollment, mark.present))
            await repo.set_attendance(cmd.session_id, marked)
            await outbox.add_many(
                uow,
                [
                    AttendanceRecorded(
                        course_id=course_id,
                        participant_id=enrollment.participant_id,
                        nib=enrollment.nib,
                        province=enrollment.province,
                        session_id=cmd.session_id,
                        present=present,
                        recorded_by=principal.subject,
                        recorded_at=at,
                    )
                    for enrollment, present in marked
                ],
            )
            return len(cmd.marks)

    return await retrying(work)


class CompletionOutcome(BaseModel):
    course_id: str
    completed: int
    not_completed: int
    certificates: list[str]


async def complete_course(
    course_id: str,
    principal: Caller,
    store: Store,
    outbox: Outbox,
    keys: Keys,
    now: datetime | None = None,
) -> CompletionOutcome:
    """Closes a course after its end date: who attended enough completes and is certified."""
    at = _now(now)

    async def work() -> CompletionOutcome:
        async with store.transaction() as uow:
            course = await _course(uow, course_id)
            authorize_course_management(principal, course)
            course = course.complete(at.date(), at)
            repo = EnrollmentRepository(uow)
            seated = await _all_enrolled(repo, course_id)
            certificates = await _close_enrollments(uow, repo, outbox, keys, course, seated, at)
            await outbox.add(
                uow,
                CourseCompleted(
                    course_id=course_id,
                    province=course.province,
                    completed_count=len(certificates),
                    not_completed_count=len(seated) - len(certificates),
                    completed_by=principal.subject,
                    completed_at=at,
                ),
            )
            await CourseRepository(uow).save(course)
            return CompletionOutcome(
                course_id=course_id,
                completed=len(certificates),
                not_completed=len(seated) - len(certificates),
                certificates=certificates,
            )

    return await retrying(work)


async def _all_enrolled(repo: EnrollmentRepository, course_id: str) -> list[Enrollment]:
    seated: list[Enrollment] = []
    cursor: str | None = None
    while True:
        page, cursor = await repo.in_course(course_id, ["enrolled"], limit=2000, cursor=cursor)
        seated += page
        if cursor is None:
            return seated


async def _close_enrollments(
    uow: Transaction,
    repo: EnrollmentRepository,
    outbox: Outbox,
    keys: Keys,
    course: Course,
    seated: Sequence[Enrollment],
    at: datetime,
) -> list[str]:
    """Everyone seated either completes (certificate) or not, in a few bulk writes; the
    events still go one by one, in seat order, onto the course's stream."""
    session_ids = course.session_ids()
    issued_on = at.date()
    passed: list[Enrollment] = []
    failed: list[Enrollment] = []
    for e in seated:
        (passed if course.completes(e.sessions_attended(session_ids)) else failed).append(e)
    await repo.mark_not_completed([e.id for e in failed])
    await repo.mark_completed([e.id for e in passed], at)
    numbers = [
        domain.certificate_number(keys.certificate, course.course_id, e.participant_id, issued_on)
        for e in passed
    ]
    await uow.insert_many(
        CERTIFICATES,
        [
            _certificate(number, course, e, issued_on)
            for number, e in zip(numbers, passed, strict=True)
        ],
    )
    events: list[Event] = []
    for number, e in zip(numbers, passed, strict=True):
        who = _who(e, course)
        events.append(
            TrainingCompleted(
                **who,
                sessions_attended=e.sessions_attended(session_ids),
                sessions_total=len(course.sessions),
                completed_at=at,
            )
        )
        events.append(
            CertificateIssued(**who, certificate_number=number, issued_on=issued_on, issued_at=at)
        )
    await outbox.add_many(uow, events)
    return numbers


def _certificate(number: str, course: Course, e: Enrollment, issued_on: date) -> dict[str, Any]:
    return {
        "id": number,
        "course_id": course.course_id,
        "course_title": course.title,
        "course_kind": course.kind,
        "participant_id": e.participant_id,
        "holder_name": e.name,
        "country": e.country,
        "province": e.province,
        "issued_on": issued_on.isoformat(),
    }


class CertificateCheck(BaseModel):
    certificate_number: str
    genuine: bool
    course_id: str
    course_title: str
    holder_name: str
    participant_id: str
    issued_on: date


async def verify_certificate(number: str, store: Store, keys: Keys) -> CertificateCheck:
    """A certificate is genuine if it is on record and its number matches the HMAC of its
    fields (a tampered record or a copied number on another name does not)."""
    normalized = domain.check_certificate_format(number)
    async with store.transaction() as uow:
        doc = await uow.get(CERTIFICATES, normalized)
    if doc is None:
        raise NotFound(f"no certificate {normalized} was issued", field="certificate_number")
    issued_on = date.fromisoformat(doc["issued_on"])
    return CertificateCheck(
        certificate_number=normalized,
        genuine=domain.certificate_is_genuine(
            keys.certificate, normalized, doc["course_id"], doc["participant_id"], issued_on
        ),
        course_id=doc["course_id"],
        course_title=doc["course_title"],
        holder_name=doc["holder_name"],
        participant_id=doc["participant_id"],
        issued_on=issued_on,
    )


# --- placement (Diklat 3in1) ------------------------------------------------------------------


class RecordPlacement(BaseModel):
    participant_id: Code
    company_partner_id: Code = Field(min_length=1)
    position: Name = Field(min_length=1)
    placed_on: date


async def record_placement(
    course_id: str,
    cmd: RecordPlacement,
    principal: Caller,
    store: Store,
    outbox: Outbox,
    now: datetime | None = None,
) -> Enrollment:
    """Diklat 3in1's third step: a certified graduate was placed at a company partner."""
    at = _now(now)

    async def work() -> Enrollment:
        async with store.transaction() as uow:
            course = await _course(uow, course_id)
            authorize_course_management(principal, course)
            if course.kind != "diklat_3in1":
                raise Conflict(
                    "placements are recorded for Diklat 3in1 courses only",
                    field="course_id",
                    rule="not_3in1",
                )
            repo = EnrollmentRepository(uow)
            e = await repo.get(domain.enrollment_id(course_id, cmd.participant_id))
            if e is None:
                raise NotFound(f"participant {cmd.participant_id} is not in course {course_id}")
            if e.status != "completed":
                raise Conflict(
                    "only a participant who completed and was certified can be placed",
                    field="participant_id",
                    rule="not_certified",
                )
            if e.placement_partner_id is not None:
                raise Conflict("placement already recorded", field="participant_id", rule="placed")
            if cmd.placed_on < course.end_date:
                raise InvalidInput(
                    "placement comes after the training", field="placed_on", rule="after_course"
                )
            saved = await repo.save(
                e.model_copy(update={"placement_partner_id": cmd.company_partner_id})
            )
            [saved] = await repo.with_certificates(course_id, [saved])
            await uow.insert(
                PLACEMENTS,
                {
                    "id": e.id,
                    "course_id": course_id,
                    "participant_id": e.participant_id,
                    "company_partner_id": cmd.company_partner_id,
                    "position": cmd.position,
                    "placed_on": cmd.placed_on.isoformat(),
                    "province": e.province,
                },
            )
            await outbox.add(
                uow,
                PlacementRecorded(
                    **_who(e, course),
                    company_partner_id=cmd.company_partner_id,
                    position=cmd.position,
                    placed_on=cmd.placed_on,
                    recorded_by=principal.subject,
                    recorded_at=at,
                ),
            )
            return saved

    return await retrying(work)


# --- statistics -------------------------------------------------------------------------------


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


async def stats(
    principal: Caller,
    store: Store,
    province: str | None = None,
    now: datetime | None = None,
) -> TrainingStats:
    """National figures, or one province's: courses held there, and participants, certificates,
    placements and mentor assignments of people and enterprises from there."""
    scope = province_scope(principal, province)
    where: dict[str, Any] = {} if scope is None else {"province": scope}
    admitted = {**where, "status": In(list(ADMITTED))}
    # Active and within its MoU's term: one whose MoU ended counts out even while the
    # registry's MoUExpired is late (ends_on is the MoU's valid_until).
    in_force = {
        **where,
        "status": "active",
        "ends_on": Range(gte=_now(now).date().isoformat()),
    }
    async with store.transaction() as uow:
        by_kind = await uow.group(COURSES, ["kind"], where)

        async def per(field: str) -> dict[str, int]:
            rows = await uow.group(ENROLLMENTS, [field], admitted)
            return {str(r.key[field] or "none"): r.count for r in rows}

        participants_by_kind = await per("kind")
        by_country = await per("country")
        by_province = await per("province")
        people = await uow.group(ENROLLMENTS, ["participant_id"], admitted)
        return TrainingStats(
            province_scope=scope,
            courses=sum(r.count for r in by_kind),
            courses_by_kind={str(r.key["kind"]): r.count for r in by_kind},
            participants=sum(participants_by_kind.values()),
            distinct_people=len(people),
            participants_by_kind=participants_by_kind,
            participants_by_country=by_country,
            participants_by_province=by_province,
            waitlisted=await uow.count(ENROLLMENTS, {**where, "status": "waitlisted"}),
            completions=await uow.count(ENROLLMENTS, {**where, "status": "completed"}),
            certificates=await uow.count(CERTIFICATES, where),
            placements=await uow.count(PLACEMENTS, where),
            active_mentor_assignments=await uow.count(ASSIGNMENTS, in_force),
        )


# --- the enterprise replica (registry events) -------------------------------------------------


async def apply_enterprise_event(
    event: EnterpriseRegistered
    | EnterpriseUpdated
    | EnterpriseVerified
    | EnterpriseSuspended
    | EnterpriseReinstated,
    meta: EnvelopeAttributes,
    uow: Transaction,
) -> None:
    """Keeps NIB -> name, province, status; events of one NIB arrive in order."""
    fields: dict[str, Any] = {"province": event.province, "sequence": meta.sequence}
    if isinstance(event, EnterpriseRegistered | EnterpriseUpdated):
        fields["name"] = event.name
    if isinstance(event, EnterpriseRegistered):
        fields["status"] = "registered"
    elif isinstance(event, EnterpriseVerified | EnterpriseReinstated):
        fields["status"] = "active"
    elif isinstance(event, EnterpriseSuspended):
        fields["status"] = "suspended"
    await EnterpriseReplica(uow).upsert(event.nib, fields)
