"""Courses and their participants: seats and the waitlist, attendance, completion with
certificates, placements. Every transition returns ``Changed(new_state, events)``: the
course's events are born here, in seat order, on the course's stream."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict

from contracts.base import Event
from contracts.training import (
    AttendanceRecorded,
    CertificateIssued,
    CourseCompleted,
    CourseKind,
    CourseScheduled,
    CourseSession,
    EnrollmentCancelled,
    ParticipantEnrolled,
    ParticipantWaitlisted,
    PlacementRecorded,
    TrainingCompleted,
)
from contracts.values import CountryText, Language, ProvinceText, documented
from ikmkit.service.errors import Conflict, InvalidInput, NotFound
from ikmkit.service.limits import COUNT_MAX
from ikmkit.store.repository import Versioned
from ikmkit.unit_of_work import Changed
from services.training.domain import attendance, rules
from services.training.domain.outcomes import Cancellation, Completion, Placed, Seat
from services.training.domain.participants import (
    Certificate,
    Enrollment,
    EnrollmentStatus,
    ParticipantDetails,
    Placement,
)
from services.training.domain.rules import INDONESIA

CourseStatus = Literal["scheduled", "completed"]

SCHEDULED_FIELDS = {
    "course_id",
    "title",
    "start_date",
    "end_date",
    "capacity",
    "venues",
    "online_url",
    "kind",
    "province",
    "country",
    "eligible_countries",
    "min_attendance_percent",
}


class Course(Versioned):
    model_config = ConfigDict(frozen=True)

    course_id: str
    title: str
    kind: CourseKind
    organizer_id: str
    co_organizer_ids: list[str] = []
    start_date: date
    end_date: date
    venues: list[str] = []
    online_url: str | None = None
    province: ProvinceText | None = None
    country: CountryText = INDONESIA
    eligible_countries: list[CountryText] = []
    capacity: Annotated[int, documented("Seats", minimum=1, maximum=COUNT_MAX)]
    language: Language = "id"
    sessions: list[CourseSession]
    min_attendance_percent: int = 75
    status: CourseStatus = "scheduled"
    enrolled_count: int = 0
    waitlisted_count: int = 0
    last_seq: int = 0
    """Arrival counter: seats and the waitlist are served in arrival order."""
    scheduled_by: str
    scheduled_at: datetime
    completed_at: datetime | None = None

    def session_ids(self) -> list[str]:
        return [s.session_id for s in self.sessions]

    def require_open(self) -> None:
        if self.status == "completed":
            raise Conflict(
                f"course {self.course_id} is finished; it takes no more changes",
                field="course_id",
                rule="course_finished",
            )

    def schedule(self) -> Changed[Course]:
        """This new course, checked against the rules, with its country codes normalized and
        its default session if it declared none."""
        fields = self.model_dump(include=SCHEDULED_FIELDS)
        host, eligible = rules.validate_course_fields(**fields, sessions=self.sessions)
        sessions = self.sessions or rules.default_sessions(self.start_date, bool(self.online_url))
        course = self.model_copy(
            update={"country": host, "eligible_countries": eligible, "sessions": sessions}
        )
        announced = CourseScheduled(**course.model_dump(include=set(CourseScheduled.model_fields)))
        return Changed(course, (announced,))

    def take_place(self) -> tuple[Course, EnrollmentStatus, int]:
        """A newcomer gets a seat if one is free, else the end of the waitlist."""
        self.require_open()
        seq = self.last_seq + 1
        if self.enrolled_count < self.capacity:
            counts = {"enrolled_count": self.enrolled_count + 1}
            return self.model_copy(update={**counts, "last_seq": seq}), "enrolled", seq
        counts = {"waitlisted_count": self.waitlisted_count + 1}
        return self.model_copy(update={**counts, "last_seq": seq}), "waitlisted", seq

    def release(self, status: EnrollmentStatus, *, promote: bool) -> Course:
        """A participant left; if a seat freed up and someone waits, they take it."""
        self.require_open()
        if status == "waitlisted" or promote:
            return self.model_copy(update={"waitlisted_count": self.waitlisted_count - 1})
        return self.model_copy(update={"enrolled_count": self.enrolled_count - 1})

    def enroll(
        self, pid: str, person: ParticipantDetails, at: datetime, previous: Enrollment | None
    ) -> Changed[Seat]:
        """A seat, or the end of the waitlist, for a person not already in the course (one who
        cancelled may come back: their record is reused)."""
        if previous is not None:
            previous.refuse_duplicate()
        course, status, seq = self.take_place()
        enrollment = Enrollment(
            id=rules.enrollment_id(self.course_id, pid),
            course_id=self.course_id,
            participant_id=pid,
            **person.model_dump(exclude={"external_id"}),
            status=status,
            seq=seq,
            enrolled_at=at if status == "enrolled" else None,
            waitlisted_at=at if status == "waitlisted" else None,
        )
        if previous is not None:
            enrollment = enrollment.model_copy(update={"version": previous.version})
        return Changed(Seat(course, enrollment), (course.placed_event(enrollment, at),))

    def cancel(
        self,
        leaving: Enrollment,
        next_waiting: Enrollment | None,
        reason: str | None,
        by: str,
        at: datetime,
    ) -> Changed[Cancellation]:
        """Gives up a seat or a waitlist place; a freed seat goes to ``next_waiting``."""
        was_waitlisted = leaving.status == "waitlisted"
        promoted = None
        if not was_waitlisted and next_waiting is not None:
            promoted = next_waiting.model_copy(
                update={"status": "enrolled", "enrolled_at": at, "promoted_from_waitlist": True}
            )
        course = self.release(leaving.status, promote=promoted is not None)
        left = leaving.model_copy(update={"status": "cancelled", "cancelled_at": at})
        events: list[Event] = [
            EnrollmentCancelled(
                **course.about(leaving),
                was_waitlisted=was_waitlisted,
                reason=reason,
                promoted_participant_id=promoted.participant_id if promoted else None,
                cancelled_by=by,
                cancelled_at=at,
            )
        ]
        if promoted is not None:
            events.append(course.placed_event(promoted, at))
        return Changed(Cancellation(course, left, promoted), tuple(events))

    def record_attendance(
        self,
        session_id: str,
        marks: Sequence[tuple[str, Enrollment | None, bool]],
        by: str,
        at: datetime,
    ) -> Changed[list[Enrollment]]:
        """Who was present at a session (participant id, their enrollment if any, present);
        all or nothing, and recording again overwrites."""
        self.require_open()
        if session_id not in self.session_ids():
            raise InvalidInput(
                f"course {self.course_id} has no session {session_id!r}",
                field="session_id",
                rule="unknown_session",
            )
        attendance.check_marks(self.course_id, marks)
        attendance.require_held(self.sessions, session_id, at)
        marked: list[Enrollment] = []
        events: list[Event] = []
        for _, enrollment, present in marks:
            assert enrollment is not None  # check_marks
            enrollment.require_seat()
            attended = {**enrollment.attended, session_id: present}
            marked.append(enrollment.model_copy(update={"attended": attended}))
            events.append(self.attendance_event(enrollment, session_id, present, by, at))
        return Changed(marked, tuple(events))

    def attendance_event(
        self, e: Enrollment, session_id: str, present: bool, by: str, at: datetime
    ) -> AttendanceRecorded:
        return AttendanceRecorded(
            course_id=self.course_id,
            participant_id=e.participant_id,
            nib=e.nib,
            province=e.province,
            session_id=session_id,
            present=present,
            recorded_by=by,
            recorded_at=at,
        )

    def completes(self, sessions_attended: int) -> bool:
        """Attended the course's share of sessions, and at least one: a certificate says the
        holder was trained, whatever threshold (0 included) the course set."""
        total = len(self.sessions)
        return (
            sessions_attended > 0 and sessions_attended * 100 >= self.min_attendance_percent * total
        )

    def complete(
        self,
        seated: Sequence[Enrollment],
        key: bytes,
        by: str,
        at: datetime,
        waiting: Sequence[Enrollment] = (),
    ) -> Changed[Completion]:
        """Closes the course after its end date: who attended enough completes and gets a
        certificate, the others do not complete; who still ``waiting`` on the waitlist never
        got a seat and is let go (``EnrollmentCancelled``), not left waiting for ever."""
        self.require_open()
        if at.date() < self.end_date:
            raise Conflict(
                f"course ends on {self.end_date.isoformat()}; it cannot be completed before",
                field="end_date",
                rule="not_ended",
            )
        course = self.model_copy(
            update={"status": "completed", "completed_at": at, "waitlisted_count": 0}
        )
        ids = self.session_ids()
        passed = [e for e in seated if self.completes(e.sessions_attended(ids))]
        failed = [e for e in seated if not self.completes(e.sessions_attended(ids))]
        certificates = [course.certify(e, key, at.date()) for e in passed]
        events: list[Event] = []
        for e, certificate in zip(passed, certificates, strict=True):
            events += course.completion_events(e, certificate, at)
        events += [course.let_go_event(e, by, at) for e in waiting]
        events.append(course.completed_event(len(passed), len(failed), by, at))
        passed = [e.model_copy(update={"status": "completed", "completed_at": at}) for e in passed]
        failed = [e.model_copy(update={"status": "not_completed"}) for e in failed]
        released = [
            e.model_copy(update={"status": "cancelled", "cancelled_at": at}) for e in waiting
        ]
        return Changed(Completion(course, passed, failed, certificates, released), tuple(events))

    def completed_event(self, passed: int, failed: int, by: str, at: datetime) -> CourseCompleted:
        return CourseCompleted(
            course_id=self.course_id,
            province=self.province,
            completed_count=passed,
            not_completed_count=failed,
            completed_by=by,
            completed_at=at,
        )

    def let_go_event(self, e: Enrollment, by: str, at: datetime) -> EnrollmentCancelled:
        """A waitlisted participant of a course that closed before a seat came free."""
        return EnrollmentCancelled(
            **self.about(e),
            was_waitlisted=True,
            reason="the course was completed before a seat became free",
            cancelled_by=by,
            cancelled_at=at,
        )

    def certify(self, e: Enrollment, key: bytes, issued_on: date) -> Certificate:
        return Certificate(
            number=rules.certificate_number(key, self.course_id, e.participant_id, issued_on),
            course_id=self.course_id,
            course_title=self.title,
            course_kind=self.kind,
            participant_id=e.participant_id,
            holder_name=e.name,
            country=e.country,
            province=e.province,
            issued_on=issued_on,
        )

    def completion_events(
        self, e: Enrollment, certificate: Certificate, at: datetime
    ) -> tuple[TrainingCompleted, CertificateIssued]:
        who = self.about(e)
        return (
            TrainingCompleted(
                **who,
                sessions_attended=e.sessions_attended(self.session_ids()),
                sessions_total=len(self.sessions),
                completed_at=at,
            ),
            CertificateIssued(
                **who,
                certificate_number=certificate.number,
                issued_on=certificate.issued_on,
                issued_at=at,
            ),
        )

    def place(
        self,
        pid: str,
        found: Enrollment | None,
        company_partner_id: str,
        position: str,
        placed_on: date,
        by: str,
        at: datetime,
    ) -> Changed[Placed]:
        """Diklat 3in1's third step: a certified graduate was placed at a company partner."""
        e = self._placeable(pid, found, placed_on)
        placement = Placement(
            id=e.id,
            course_id=self.course_id,
            participant_id=e.participant_id,
            company_partner_id=company_partner_id,
            position=position,
            placed_on=placed_on,
            province=e.province,
        )
        event = PlacementRecorded(
            **self.about(e),
            **placement.model_dump(include={"company_partner_id", "position", "placed_on"}),
            recorded_by=by,
            recorded_at=at,
        )
        placed = e.model_copy(update={"placement_partner_id": company_partner_id})
        return Changed(Placed(placed, placement), (event,))

    def _placeable(self, pid: str, found: Enrollment | None, placed_on: date) -> Enrollment:
        """The enrollment to place, or why this course or participant cannot take a placement."""
        if self.kind != "diklat_3in1":
            raise Conflict(
                "placements are recorded for Diklat 3in1 courses only",
                field="course_id",
                rule="not_3in1",
            )
        if found is None:
            raise NotFound(f"participant {pid} is not in course {self.course_id}")
        e = found.placeable()
        rules.check_day(placed_on, "placed_on")
        if placed_on < self.end_date:
            raise InvalidInput(
                "placement comes after the training", field="placed_on", rule="after_course"
            )
        return e

    def about(self, e: Enrollment) -> dict[str, Any]:
        """The participant and course fields every participant event carries."""
        return {
            "course_id": self.course_id,
            "participant_id": e.participant_id,
            "participant_name": e.name,
            "participant_email": e.email,
            "preferred_language": e.preferred_language,
            "participant_kind": e.kind,
            "nib": e.nib,
            "province": e.province,
            "country": e.country,
            "course_title": self.title,
            "course_kind": self.kind,
        }

    def placed_event(
        self, e: Enrollment, at: datetime
    ) -> ParticipantEnrolled | ParticipantWaitlisted:
        if e.status == "enrolled":
            return ParticipantEnrolled(
                **self.about(e),
                start_date=self.start_date,
                end_date=self.end_date,
                promoted_from_waitlist=e.promoted_from_waitlist,
                enrolled_at=at,
            )
        return ParticipantWaitlisted(
            **self.about(e), position=self.waitlisted_count, waitlisted_at=at
        )
