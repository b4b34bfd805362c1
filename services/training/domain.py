"""Training domain rules: courses, seats and the waitlist, completion, certificates, and the
MoU gate for mentors. Pure: no I/O, no clock (callers pass ``today``/``now``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Annotated, Literal

from lokal.provinces import PROVINCES
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

from contracts import values
from contracts.training import CourseKind, CourseSession, Language, ParticipantKind
from ikmkit.service.errors import Conflict, InvalidInput
from ikmkit.service.limits import Code, Name

CourseStatus = Literal["scheduled", "completed"]
EnrollmentStatus = Literal["enrolled", "waitlisted", "cancelled", "completed", "not_completed"]
AssignmentStatus = Literal["active", "ended"]
MoUStatus = Literal["signed", "expired", "terminated"]

ADMITTED: tuple[EnrollmentStatus, ...] = ("enrolled", "completed", "not_completed")
"""Statuses of a participant who held a seat (what the ministry counts as a participant)."""

IKM_KINDS: tuple[ParticipantKind, ...] = ("ikm_owner", "ikm_worker")
INDONESIA = "ID"
MENTOR_SCOPE = "technical_assistance"

# ISO 3166-1 alpha-2, officially assigned codes (249).
ISO_COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK
    DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR
    GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM
    KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP
    MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL
    PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST
    SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG
    VI VN VU WF WS YE YT ZA ZM ZW""".split()  # noqa: SIM905 (a table reads better as text)
)

_NIB = re.compile(r"^\d{13}$")
_CERTIFICATE = re.compile(r"^IKMT-(\d{4})-([A-Z2-7]{8})-([A-Z2-7]{6})$")


# --- validation of single fields -------------------------------------------------------------


def check_country(code: str, field: str = "country") -> str:
    upper = code.strip().upper()
    if upper not in ISO_COUNTRIES:
        raise InvalidInput(
            f"{code!r} is not an ISO 3166-1 alpha-2 country code", field=field, rule="iso3166"
        )
    return upper


def check_province(code: str | None, field: str = "province") -> str | None:
    """Kemendagri province code (2 digits, the codes of the NIK; they differ from BPS for Papua)."""
    if code is None:
        return None
    if code not in PROVINCES:
        raise InvalidInput(
            f"{code!r} is not a Kemendagri province code", field=field, rule="province_code"
        )
    return code


def check_nib(nib: str, field: str = "nib") -> str:
    if not _NIB.match(nib):
        raise InvalidInput("NIB must be exactly 13 digits", field=field, rule="nib_format")
    return nib


# --- courses --------------------------------------------------------------------------------


class Course(BaseModel):
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
    province: str | None = None
    country: str = INDONESIA
    eligible_countries: list[str] = []
    capacity: int
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
    version: int = 0

    def session_ids(self) -> list[str]:
        return [s.session_id for s in self.sessions]

    def require_open(self) -> None:
        if self.status == "completed":
            raise Conflict(
                f"course {self.course_id} is finished; it takes no more changes",
                field="course_id",
                rule="course_finished",
            )

    def take_place(self) -> tuple[Course, EnrollmentStatus, int]:
        """A newcomer gets a seat if one is free, else the end of the waitlist."""
        self.require_open()
        seq = self.last_seq + 1
        if self.enrolled_count < self.capacity:
            return (
                self.model_copy(
                    update={"enrolled_count": self.enrolled_count + 1, "last_seq": seq}
                ),
                "enrolled",
                seq,
            )
        return (
            self.model_copy(
                update={"waitlisted_count": self.waitlisted_count + 1, "last_seq": seq}
            ),
            "waitlisted",
            seq,
        )

    def release(self, status: EnrollmentStatus, *, promote: bool) -> Course:
        """A participant left; if a seat freed up and someone waits, they take it."""
        self.require_open()
        if status == "waitlisted":
            return self.model_copy(update={"waitlisted_count": self.waitlisted_count - 1})
        if promote:
            return self.model_copy(update={"waitlisted_count": self.waitlisted_count - 1})
        return self.model_copy(update={"enrolled_count": self.enrolled_count - 1})

    def complete(self, today: date, now: datetime) -> Course:
        self.require_open()
        if today < self.end_date:
            raise Conflict(
                f"course ends on {self.end_date.isoformat()}; it cannot be completed before",
                field="end_date",
                rule="not_ended",
            )
        return self.model_copy(update={"status": "completed", "completed_at": now})

    def completes(self, sessions_attended: int) -> bool:
        total = len(self.sessions)
        return total > 0 and sessions_attended * 100 >= self.min_attendance_percent * total


def validate_course_fields(
    *,
    title: str,
    start_date: date,
    end_date: date,
    capacity: int,
    venues: list[str],
    online_url: str | None,
    kind: CourseKind,
    province: str | None,
    country: str,
    eligible_countries: list[str],
    sessions: Sequence[CourseSession],
    min_attendance_percent: int,
) -> tuple[str, list[str]]:
    """Checks a new course; returns the normalized (country, eligible countries)."""
    if not title.strip():
        raise InvalidInput("title must not be empty", field="title", rule="required")
    if end_date < start_date:
        raise InvalidInput(
            "end_date must not be before start_date", field="end_date", rule="end_before_start"
        )
    if capacity <= 0:
        raise InvalidInput("capacity must be at least 1", field="capacity", rule="positive")
    if not venues and not online_url:
        raise InvalidInput(
            "a course needs a venue or an online link", field="venues", rule="venue_or_online"
        )
    if kind == "webinar" and not online_url:
        raise InvalidInput("a webinar needs an online link", field="online_url", rule="required")
    if not 0 <= min_attendance_percent <= 100:
        raise InvalidInput(
            "min_attendance_percent must be 0..100", field="min_attendance_percent", rule="range"
        )
    check_province(province)
    host = check_country(country)
    eligible = [
        check_country(c, field=f"eligible_countries[{i}]") for i, c in enumerate(eligible_countries)
    ]
    _check_sessions(sessions, start_date, end_date)
    return host, eligible


def _check_sessions(sessions: Sequence[CourseSession], start: date, end: date) -> None:
    seen: set[str] = set()
    for i, session in enumerate(sessions):
        if session.session_id in seen:
            raise InvalidInput(
                f"session id {session.session_id!r} is used twice",
                field=f"sessions[{i}].session_id",
                rule="unique",
            )
        seen.add(session.session_id)
        if not start <= session.day <= end:
            raise InvalidInput(
                "a session must fall within the course dates",
                field=f"sessions[{i}].day",
                rule="within_course",
            )


def default_sessions(start: date, online: bool) -> list[CourseSession]:
    """A course declared without sessions has one, on its first day (a webinar, typically)."""
    return [
        CourseSession(
            session_id="s1", title="Main session", kind="online" if online else "lecture", day=start
        )
    ]


# --- participants ---------------------------------------------------------------------------


class ParticipantDetails(BaseModel):
    """Who enrolls: validated and normalized (see ``validate_participant``)."""

    model_config = ConfigDict(frozen=True)

    name: Name
    email: Annotated[str, Field(max_length=values.EMAIL_MAX)] | None = None
    kind: ParticipantKind
    nib: Code | None = None
    province: Code | None = None
    country: Code = INDONESIA
    preferred_language: Language = "id"
    external_id: Code | None = None
    """An identifier of the person (NIK, passport or student number); used only to recognize
    the same person twice, never stored."""


def check_email(email: str, field: str = "email") -> str:
    """The platform's one e-mail rule (``values.normalize_email``), as a domain error."""
    try:
        return values.normalize_email(email)
    except PydanticCustomError as exc:
        raise InvalidInput(exc.message(), field=field, rule=exc.type) from None


def validate_participant(
    p: ParticipantDetails, course: Course, known_nib_province: str | None, nib_known: bool
) -> ParticipantDetails:
    """Normalizes a participant and checks them against the course and the enterprise replica."""
    name = " ".join(p.name.split())
    if not name:
        raise InvalidInput("name must not be empty", field="name", rule="required")
    email = check_email(p.email) if p.email else None
    country = check_country(p.country)
    if course.eligible_countries and country not in course.eligible_countries:
        raise InvalidInput(
            f"participants from {country} are not eligible for this course",
            field="country",
            rule="not_eligible",
        )
    province = check_province(p.province)
    if country != INDONESIA and province is not None:
        raise InvalidInput(
            "a foreign participant has no Indonesian province", field="province", rule="foreign"
        )
    nib = p.nib.strip() if p.nib else None
    if p.kind in IKM_KINDS and nib is None:
        raise InvalidInput("an IKM owner or worker needs the NIB", field="nib", rule="required")
    if nib is not None:
        check_nib(nib)
        if not nib_known:
            raise InvalidInput(
                f"NIB {nib} is not a registered enterprise (yet)", field="nib", rule="unknown_nib"
            )
        province = known_nib_province or province
    return p.model_copy(
        update={"name": name, "email": email, "country": country, "province": province, "nib": nib}
    )


def person_key(p: ParticipantDetails) -> str:
    """What makes two enrollments the same person: an id, else the e-mail, else name + NIB or
    name + country. Names are compared case- and space-insensitively."""
    if p.external_id:
        return f"id:{p.external_id.strip().upper()}"
    if p.email:
        return f"email:{p.email}"
    name = " ".join(p.name.casefold().split())
    return f"nib:{p.nib}:{name}" if p.nib else f"name:{p.country}:{name}"


def participant_id(key: bytes, person: str) -> str:
    """A stable pseudonym of a person: the same person gets the same id in every course."""
    digest = hmac.new(key, f"participant|{person}".encode(), hashlib.sha256).hexdigest()
    return f"p-{digest[:20]}"


class Enrollment(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    course_id: str
    participant_id: str
    name: str
    email: str | None = None
    kind: ParticipantKind
    nib: str | None = None
    province: str | None = None
    country: str = INDONESIA
    preferred_language: Language = "id"
    status: EnrollmentStatus
    seq: int
    promoted_from_waitlist: bool = False
    attended: dict[str, bool] = {}
    enrolled_at: datetime | None = None
    waitlisted_at: datetime | None = None
    cancelled_at: datetime | None = None
    completed_at: datetime | None = None
    certificate_number: str | None = None
    placement_partner_id: str | None = None
    version: int = 0

    def sessions_attended(self, session_ids: list[str]) -> int:
        return sum(1 for s in session_ids if self.attended.get(s))

    def require_seat(self) -> None:
        if self.status != "enrolled":
            raise Conflict(
                f"participant {self.participant_id} is {self.status}, not enrolled",
                field="participant_id",
                rule="not_enrolled",
            )


def enrollment_id(course_id: str, pid: str) -> str:
    return f"{course_id}|{pid}"


def refuse_duplicate(existing: Enrollment | None) -> None:
    if existing is not None and existing.status != "cancelled":
        raise Conflict(
            f"this person is already {existing.status} in the course "
            f"(participant {existing.participant_id})",
            field="participant",
            rule="duplicate_enrollment",
        )


def new_enrollment(
    course: Course,
    pid: str,
    p: ParticipantDetails,
    status: EnrollmentStatus,
    seq: int,
    now: datetime,
    previous: Enrollment | None,
) -> Enrollment:
    return Enrollment(
        id=enrollment_id(course.course_id, pid),
        course_id=course.course_id,
        participant_id=pid,
        name=p.name,
        email=p.email,
        kind=p.kind,
        nib=p.nib,
        province=p.province,
        country=p.country,
        preferred_language=p.preferred_language,
        status=status,
        seq=seq,
        enrolled_at=now if status == "enrolled" else None,
        waitlisted_at=now if status == "waitlisted" else None,
        version=previous.version if previous else 0,
    )


# --- certificates ---------------------------------------------------------------------------


def _b32(key: bytes, message: str, length: int) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:length]


def certificate_number(key: bytes, course_id: str, pid: str, issued_on: date) -> str:
    """``IKMT-<year>-<serial>-<check>``: serial = HMAC(course, participant), check = HMAC over
    the number's own parts and the certificate's fields. Only the key holder can mint one;
    ``certificate_is_genuine`` recomputes both from the stored certificate."""
    serial = _b32(key, f"serial|{course_id}|{pid}", 8)
    year = issued_on.year
    check = _b32(key, f"check|{year}|{serial}|{course_id}|{pid}|{issued_on.isoformat()}", 6)
    return f"IKMT-{year}-{serial}-{check}"


def check_certificate_format(number: str) -> str:
    upper = number.strip().upper()
    if not _CERTIFICATE.match(upper):
        raise InvalidInput(
            "certificate numbers look like IKMT-2020-ABCDEFGH-XYZ234",
            field="certificate_number",
            rule="certificate_format",
        )
    return upper


def certificate_is_genuine(
    key: bytes, number: str, course_id: str, pid: str, issued_on: date
) -> bool:
    return hmac.compare_digest(number, certificate_number(key, course_id, pid, issued_on))


# --- mentors under MoU ----------------------------------------------------------------------


class MoUCoverage(BaseModel):
    """What the training service knows of one MoU for one of its parties (from MoU events)."""

    model_config = ConfigDict(frozen=True)

    id: str
    mou_id: str
    partner_id: str
    scope: str
    status: MoUStatus
    valid_from: date | None = None
    valid_until: date | None = None
    version: int = 0


def covering_mou(coverages: list[MoUCoverage], partner_id: str, today: date) -> MoUCoverage:
    """The MoU that lets ``partner_id`` provide mentors today, or a refusal saying why not."""
    relevant = [c for c in coverages if c.partner_id == partner_id and c.scope == MENTOR_SCOPE]
    valid = [
        c
        for c in relevant
        if c.status == "signed"
        and c.valid_from is not None
        and c.valid_until is not None
        and c.valid_from <= today <= c.valid_until
    ]
    if valid:
        return max(valid, key=lambda c: c.valid_until or today)
    if not relevant:
        reason, rule = "no signed technical-assistance MoU covers this partner", "mou_required"
    elif any(c.status == "terminated" for c in relevant) and not any(
        c.status == "signed" for c in relevant
    ):
        reason, rule = "the partner's technical-assistance MoU was terminated", "mou_terminated"
    elif any(c.status == "signed" and c.valid_from and c.valid_from > today for c in relevant):
        reason, rule = (
            "the partner's technical-assistance MoU is not in force yet",
            "mou_not_yet_valid",
        )
    else:
        reason, rule = "the partner's technical-assistance MoU has expired", "mou_expired"
    raise Conflict(f"mentor refused: {reason}", field="partner_id", rule=rule)


class MentorAssignment(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    nib: str
    province: str | None = None
    enterprise_name: str | None = None
    partner_id: str
    mou_id: str
    mentor_name: str
    mentor_email: str | None = None
    starts_on: date
    ends_on: date
    status: AssignmentStatus = "active"
    end_reason: str | None = None
    assigned_by: str
    assigned_at: datetime
    ended_at: datetime | None = None
    version: int = 0

    def end(self, reason: str, now: datetime) -> MentorAssignment:
        return self.model_copy(update={"status": "ended", "end_reason": reason, "ended_at": now})
