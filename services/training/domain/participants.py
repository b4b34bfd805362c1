"""Who takes part in a course: the participant as given, validated and recognized, and their
enrollment (a seat, a waitlist place, or what became of it)."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts import values
from contracts.training import CourseKind, ParticipantKind
from contracts.values import Language
from ikmkit.service import limits
from ikmkit.service.errors import Conflict, InvalidInput, Violations
from ikmkit.service.limits import CODE_MAX, Code, NameRow
from ikmkit.store.repository import Versioned
from services.training.domain import rules
from services.training.domain.rules import INDONESIA

if TYPE_CHECKING:
    from services.training.domain.model import Course

EnrollmentStatus = Literal["enrolled", "waitlisted", "cancelled", "completed", "not_completed"]

ADMITTED: tuple[EnrollmentStatus, ...] = ("enrolled", "completed", "not_completed")
"""Statuses of a participant who held a seat (what the ministry counts as a participant)."""

IKM_KINDS: tuple[ParticipantKind, ...] = ("ikm_owner", "ikm_worker")


class ParticipantDetails(BaseModel):
    """Who enrolls: validated and normalized (see ``validate_participant``)."""

    # A request's body: a field it does not define is refused (ikmkit/service/command.py)
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: NameRow  # its other rules (control characters) are the row's: validate_participant
    # Documented with their rules; ``validate_participant`` checks them row by row.
    email: Annotated[values.EmailText, Field(max_length=values.EMAIL_MAX)] | None = None
    kind: ParticipantKind
    nib: Annotated[values.NibText, Field(max_length=CODE_MAX)] | None = None
    province: Annotated[values.ProvinceText, Field(max_length=CODE_MAX)] | None = None
    country: Annotated[values.CountryText, Field(max_length=CODE_MAX)] = INDONESIA
    preferred_language: Language = "id"
    external_id: Code | None = None
    """An identifier of the person (NIK, passport or student number); used only to recognize
    the same person twice, never stored."""


def validate_participant(
    p: ParticipantDetails,
    course: Course,
    known_nib_province: str | None,
    nib_known: bool,
    *,
    nib_suspended: bool = False,
) -> ParticipantDetails:
    """Normalizes a participant and checks them against the course and the enterprise
    replica (``nib_suspended``: the registry suspended the NIB's enterprise), naming every
    rule broken."""
    found = Violations()
    name = " ".join(p.name.split())
    if not name:
        found.check(rules.fail, "name must not be empty", "name", "required")
    found.check(limits.check_name, p.name, "name")
    email = found.check(rules.check_email, p.email) if p.email else None
    country = found.check(rules.check_country, p.country)
    if country and course.eligible_countries and country not in course.eligible_countries:
        found.check(
            rules.fail,
            f"participants from {country} are not eligible for this course",
            "country",
            "not_eligible",
        )
    province = found.check(rules.check_province, p.province)
    if country and country != INDONESIA and p.province is not None:
        found.check(
            rules.fail, "a foreign participant has no Indonesian province", "province", "foreign"
        )
    nib = found.check(_check_nib, p, nib_known, nib_suspended)
    found.raise_all()
    if nib is not None:
        province = known_nib_province or province
    return p.model_copy(
        update={"name": name, "email": email, "country": country, "province": province, "nib": nib}
    )


def _check_nib(p: ParticipantDetails, nib_known: bool, nib_suspended: bool) -> str | None:
    nib = p.nib.strip() if p.nib else None
    if p.kind in IKM_KINDS and nib is None:
        raise InvalidInput("an IKM owner or worker needs the NIB", field="nib", rule="required")
    if nib is not None:
        rules.check_nib(nib)
        if not nib_known:
            raise InvalidInput(
                f"NIB {nib} is not a registered enterprise (yet)", field="nib", rule="unknown_nib"
            )
        if nib_suspended:
            # As for subsidies and mentors: a suspended enterprise takes up no new programme.
            raise InvalidInput(
                f"the enterprise of NIB {nib} is suspended",
                field="nib",
                rule="enterprise_suspended",
            )
    return nib


def _same_text(text: str) -> str:
    """One spelling of text typed or exported differently: NFKC composes accents (an NFC letter
    and its NFD letter + combining mark) and folds compatibility forms (fullwidth digits)."""
    return unicodedata.normalize("NFKC", text)


def person_key(p: ParticipantDetails) -> str:
    """What makes two enrollments the same person: an id, else the e-mail, else name + NIB or
    name + country. Names are compared case- and space-insensitively."""
    if p.external_id:
        return f"id:{_same_text(p.external_id).strip().upper()}"
    if p.email:
        return f"email:{p.email}"
    name = " ".join(_same_text(p.name).casefold().split())
    return f"nib:{p.nib}:{name}" if p.nib else f"name:{p.country}:{name}"


class Enrollment(Versioned):
    """One person's place in one course (a seat, a waitlist place, or what became of it)."""

    model_config = ConfigDict(frozen=True)

    id: str
    course_id: str
    participant_id: str
    name: str
    email: values.EmailText | None = None
    kind: ParticipantKind
    nib: values.NibText | None = None
    province: values.ProvinceText | None = None
    country: values.CountryText = INDONESIA
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

    def sessions_attended(self, session_ids: list[str]) -> int:
        return sum(1 for s in session_ids if self.attended.get(s))

    def require_seat(self) -> None:
        if self.status != "enrolled":
            raise Conflict(
                f"participant {self.participant_id} is {self.status}, not enrolled",
                field="participant_id",
                rule="not_enrolled",
            )

    def placeable(self) -> Enrollment:
        """This participant, if a company placement may be recorded for them."""
        if self.status != "completed":
            raise Conflict(
                "only a participant who completed and was certified can be placed",
                field="participant_id",
                rule="not_certified",
            )
        if self.placement_partner_id is not None:
            raise Conflict("placement already recorded", field="participant_id", rule="placed")
        return self

    def refuse_duplicate(self) -> None:
        if self.status != "cancelled":
            raise Conflict(
                f"this person is already {self.status} in the course "
                f"(participant {self.participant_id})",
                field="participant",
                rule="duplicate_enrollment",
            )


class Certificate(Versioned):
    """An issued certificate; its number is the HMAC of its fields (``rules``)."""

    model_config = ConfigDict(frozen=True)

    number: str
    course_id: str
    course_title: str
    course_kind: CourseKind
    participant_id: str
    holder_name: str
    country: values.CountryText
    province: values.ProvinceText | None = None
    issued_on: date


class Placement(Versioned):
    """Diklat 3in1's third step: a certified graduate placed at a company partner."""

    model_config = ConfigDict(frozen=True)

    id: str
    course_id: str
    participant_id: str
    company_partner_id: str
    position: str
    placed_on: date
    province: str | None = None
