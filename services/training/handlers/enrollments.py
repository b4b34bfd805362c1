"""Enrollment: seats in arrival order, then the waitlist; a freed seat goes to the next in
line. Seat allocation rewrites the course (optimistic concurrency), so two racing enrollments
cannot both take the last seat: the loser's unit of work runs again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel

from ikmkit.auth import Caller
from ikmkit.service.bulk import RowViolation
from ikmkit.service.errors import AppError, Conflict, InvalidInputs, NotFound
from services.training.commands import CancelEnrollment, EnrollParticipants
from services.training.domain import access, rules
from services.training.domain.model import Course
from services.training.domain.participants import (
    Enrollment,
    ParticipantDetails,
    person_key,
    validate_participant,
)
from services.training.domain.rules import Keys
from services.training.replicas import ENTERPRISES
from services.training.store import TrainingUnit


class EnrolledRow(BaseModel):
    row: int
    participant_id: str
    status: str


class BulkOutcome(BaseModel):
    course_id: str
    enrolled: int = 0
    waitlisted: int = 0
    results: list[EnrolledRow] = []
    errors: list[RowViolation] = []


@dataclass
class _Rows:
    """The outcome of each row of a request, and the refusals as raised."""

    outcome: BulkOutcome
    failures: list[AppError] = field(default_factory=list)

    def refuse(self, row: int, exc: AppError) -> None:
        self.failures.append(exc)
        every = exc.violations if isinstance(exc, InvalidInputs) else [exc]
        self.outcome.errors.extend(
            RowViolation(row=row, field=e.field, rule=e.rule, message=e.message) for e in every
        )

    def accept(self, row: int, enrollment: Enrollment) -> None:
        self.outcome.results.append(
            EnrolledRow(row=row, participant_id=enrollment.participant_id, status=enrollment.status)
        )
        if enrollment.status == "enrolled":
            self.outcome.enrolled += 1
        else:
            self.outcome.waitlisted += 1


@dataclass(frozen=True)
class _Accepted:
    row: int
    pid: str
    person: ParticipantDetails


async def enroll(
    uow: TrainingUnit, cmd: EnrollParticipants, caller: Caller, keys: Keys
) -> Enrollment:
    """One participant; any refusal is raised (422 naming the field, or 409)."""
    rows = await _enroll_rows(uow, cmd, caller, keys)
    if rows.failures:
        raise rows.failures[0]
    pid = rows.outcome.results[0].participant_id
    return await uow.enrollments.get(rules.enrollment_id(cmd.course_id, pid))


async def enroll_many(
    uow: TrainingUnit, cmd: EnrollParticipants, caller: Caller, keys: Keys
) -> BulkOutcome:
    """Many participants in one unit of work; refused rows are reported, the rest enrolled."""
    return (await _enroll_rows(uow, cmd, caller, keys)).outcome


async def _enroll_rows(
    uow: TrainingUnit, cmd: EnrollParticipants, caller: Caller, keys: Keys
) -> _Rows:
    course = await uow.courses.get(cmd.course_id)
    # Who may act first: a hidden course's state (finished) must not answer for it.
    access.authorize_enrollment(caller, course, [p.nib for p in cmd.participants])
    course.require_open()
    rows = _Rows(BulkOutcome(course_id=cmd.course_id))
    accepted = await _validated(uow, course, cmd.participants, keys, rows)
    existing = await uow.enrollments.get_many(
        [rules.enrollment_id(cmd.course_id, a.pid) for a in accepted]
    )
    fresh: list[Enrollment] = []
    for item in accepted:
        previous = existing.get(rules.enrollment_id(cmd.course_id, item.pid))
        try:
            seat = uow.collect(course.enroll(item.pid, item.person, uow.now, previous))
        except AppError as exc:
            rows.refuse(item.row, exc)
            continue
        course = seat.course
        if previous is None:
            fresh.append(seat.enrollment)
        else:
            await uow.enrollments.save(seat.enrollment)
        rows.accept(item.row, seat.enrollment)
    if fresh:
        await uow.enrollments.add_many(fresh)
    if rows.outcome.results:
        await uow.courses.save(course)
    return rows


async def _validated(
    uow: TrainingUnit,
    course: Course,
    participants: Sequence[ParticipantDetails],
    keys: Keys,
    rows: _Rows,
) -> list[_Accepted]:
    nibs = list(dict.fromkeys(p.nib.strip() for p in participants if p.nib))
    enterprises = await ENTERPRISES.get_many(uow.tx, nibs)
    accepted: list[_Accepted] = []
    seen: set[str] = set()
    for row, raw in enumerate(participants, start=1):
        known = enterprises.get(raw.nib.strip()) if raw.nib else None
        try:
            person = validate_participant(
                raw,
                course,
                known.province if known else None,
                known is not None,
                nib_suspended=known is not None and known.status == "suspended",
            )
            pid = rules.participant_id(keys.pseudonym, person_key(person))
            if pid in seen:
                raise Conflict(
                    "the same person appears twice in this request",
                    field="participant",
                    rule="duplicate_enrollment",
                )
        except AppError as exc:
            rows.refuse(row, exc)
            continue
        seen.add(pid)
        accepted.append(_Accepted(row, pid, person))
    return accepted


async def cancel_enrollment(
    uow: TrainingUnit, cmd: CancelEnrollment, caller: Caller
) -> Enrollment | None:
    """Gives up a seat or a waitlist place; returns the participant promoted to the seat."""
    course = await uow.courses.get(cmd.course_id)
    access.require_visible_course(caller, course)  # before saying who is (not) in it
    leaving = await uow.enrollments.find_one(rules.enrollment_id(cmd.course_id, cmd.participant_id))
    if leaving is None or leaving.status == "cancelled":
        raise NotFound(
            f"participant {cmd.participant_id} holds no place in course {course.course_id}"
        )
    access.authorize_enrollment(caller, course, [leaving.nib])
    waiting = None
    if leaving.status != "waitlisted":
        waiting = await uow.enrollments.first_waitlisted(cmd.course_id)
    done = uow.collect(course.cancel(leaving, waiting, cmd.reason, caller.subject, uow.now))
    await uow.enrollments.save(done.left)
    if done.promoted is not None:
        await uow.enrollments.save(done.promoted)
    await uow.courses.save(done.course)
    return done.promoted
