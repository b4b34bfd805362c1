"""Events published by the training service (courses, enrollments, mentors under MoU).

Topics (key = aggregate id):
- ``ikm.training.course.v1``: key course id. A course's enrollment, attendance, completion,
  certificate and placement events belong to the course aggregate, so the order of seats and
  of the waitlist is the order of the stream. ``ce_region`` = the participant's province when
  the event concerns one participant, else the course's province.
- ``ikm.training.mentor.v1``: key assignment id; ``ce_region`` = the enterprise's province.

Participant events carry what a notifier needs to tell the participant (id, name, e-mail,
preferred language, NIB and province when known); name and e-mail are personal data.
Country codes are ISO 3166-1 alpha-2 (``ID`` for Indonesia).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from contracts.base import Event, PersonalStr
from contracts.values import CountryCode, Language, Nib, ProvinceCode

COURSE_TOPIC = "ikm.training.course.v1"
MENTOR_TOPIC = "ikm.training.mentor.v1"

CourseKind = Literal[
    "capacity_building",
    "webinar",
    "diklat_3in1",
    "vocational",
    "technical_assistance",
]
ParticipantKind = Literal["ikm_owner", "ikm_worker", "civil_servant", "student", "other"]
SessionKind = Literal["lecture", "site_visit", "workshop", "practice", "online"]
AssignmentEndReason = Literal["mou_expired", "mou_terminated", "ended_by_officer"]


class CourseSession(BaseModel):
    """One session of a course: a lecture, a workshop or a site visit with its host."""

    model_config = ConfigDict(frozen=True)

    session_id: str
    title: str
    kind: SessionKind = "lecture"
    day: date
    venue: str | None = None
    host: str | None = None
    """Who hosts it, e.g. a Balai Besar ("BBT", "B4T") or a partner id."""


class _CourseEvent(Event):
    TOPIC: ClassVar[str] = COURSE_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "course_id"

    course_id: str


class CourseScheduled(_CourseEvent):
    REGION_FIELD: ClassVar[str | None] = "province"

    title: str
    kind: CourseKind
    organizer_id: str
    co_organizer_ids: list[str] = []
    start_date: date
    end_date: date
    venues: list[str] = []
    online_url: str | None = None
    province: ProvinceCode | None = None
    country: CountryCode = "ID"
    """Where the course takes place (ISO 3166-1 alpha-2)."""
    eligible_countries: list[CountryCode] = []
    """Countries participants may come from (e.g. Colombo Plan members); empty = any."""
    capacity: int
    language: Language = "id"
    sessions: list[CourseSession] = []
    min_attendance_percent: int = 75
    """Share of sessions a participant must attend to complete the course."""
    scheduled_by: str
    scheduled_at: datetime


class _ParticipantEvent(_CourseEvent):
    """An event about one participant of a course."""

    REGION_FIELD: ClassVar[str | None] = "province"

    participant_id: str
    participant_name: PersonalStr
    participant_email: PersonalStr | None = None
    preferred_language: Language = "id"
    participant_kind: ParticipantKind
    nib: Nib | None = None
    province: ProvinceCode | None = None
    country: CountryCode = "ID"
    course_title: str
    course_kind: CourseKind


class ParticipantEnrolled(_ParticipantEvent):
    """The participant holds a seat (directly, or promoted from the waitlist)."""

    start_date: date
    end_date: date
    promoted_from_waitlist: bool = False
    enrolled_at: datetime


class ParticipantWaitlisted(_ParticipantEvent):
    """The course was full; the participant is at ``position`` (1 = next) on the waitlist."""

    position: int
    waitlisted_at: datetime


class EnrollmentCancelled(_ParticipantEvent):
    """A seat or a waitlist place was given up; ``promoted_participant_id`` took the seat."""

    was_waitlisted: bool
    reason: str | None = None
    promoted_participant_id: str | None = None
    cancelled_by: str
    cancelled_at: datetime


class AttendanceRecorded(_CourseEvent):
    REGION_FIELD: ClassVar[str | None] = "province"

    participant_id: str
    nib: Nib | None = None
    province: ProvinceCode | None = None
    session_id: str
    present: bool
    recorded_by: str
    recorded_at: datetime


class TrainingCompleted(_ParticipantEvent):
    """The participant completed the course (attended enough sessions when it was closed)."""

    sessions_attended: int
    sessions_total: int
    completed_at: datetime


class CourseCompleted(_CourseEvent):
    """The course was closed after its end date; no more enrollments or attendance."""

    REGION_FIELD: ClassVar[str | None] = "province"

    province: ProvinceCode | None = None
    completed_count: int
    not_completed_count: int
    completed_by: str
    completed_at: datetime


class CertificateIssued(_ParticipantEvent):
    """A verifiable certificate (``GET /certificates/{certificate_number}`` on training)."""

    certificate_number: str
    issued_on: date
    issued_at: datetime


class PlacementRecorded(_ParticipantEvent):
    """Diklat 3in1: after training and certification, the participant was placed at a company."""

    company_partner_id: str
    position: str
    placed_on: date
    recorded_by: str
    recorded_at: datetime


class _MentorEvent(Event):
    TOPIC: ClassVar[str] = MENTOR_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "assignment_id"
    REGION_FIELD: ClassVar[str | None] = "province"

    assignment_id: str
    nib: Nib
    province: ProvinceCode | None = None
    partner_id: str
    mou_id: str


class MentorAssigned(_MentorEvent):
    """A partner's mentor (pendamping teknis) assists an IKM under a signed, valid MoU."""

    mentor_name: PersonalStr
    mentor_email: PersonalStr | None = None
    enterprise_name: str | None = None
    starts_on: date
    ends_on: date
    """The MoU's ``valid_until``: the assignment cannot outlive the MoU."""
    assigned_by: str
    assigned_at: datetime


class MentorAssignmentEnded(_MentorEvent):
    reason: AssignmentEndReason
    ended_at: datetime
