"""Requests to the training service: every value bounded (``ikmkit.service.limits``) and the
shared values typed (``contracts.values``).

A participant's fields are checked row by row in the domain instead (``validate_participant``),
so one bad row of a bulk enrollment is reported while the others are enrolled; eligible
countries likewise, so a refusal names the list entry (``eligible_countries[1]``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import Field

from contracts.training import CourseKind, CourseSession
from contracts.values import CountryCode, CountryText, Email, Language, Nib, ProvinceCode
from ikmkit.service import limits
from ikmkit.service.command import Command
from ikmkit.service.errors import InvalidInput, Violations
from ikmkit.service.limits import (
    CODE_MAX,
    MAX_BULK,
    MAX_ITEMS,
    MAX_SESSIONS,
    Code,
    Codes,
    Count,
    Name,
    Names,
    Percent,
    Text,
    Url,
)
from services.training.domain import rules
from services.training.domain.participants import ParticipantDetails
from services.training.domain.rules import INDONESIA

# Checked by the domain, each naming its index (eligible_countries[1]): documented here.
CountryRow = Annotated[CountryText, Field(max_length=CODE_MAX)]


class SessionInput(CourseSession, Command):
    session_id: Code
    title: Name
    venue: Name | None = None
    host: Name | None = None


class ScheduleCourse(Command):
    title: Name
    kind: CourseKind
    organizer_id: Code
    co_organizer_ids: Codes = []
    start_date: date
    end_date: date
    venues: Names = []
    online_url: Url | None = None
    province: ProvinceCode | None = None
    country: CountryCode = INDONESIA
    eligible_countries: Annotated[list[CountryRow], MAX_ITEMS] = Field(
        [], description="Who may enroll (empty: anyone); each checked, naming its index"
    )
    capacity: Count
    language: Language = "id"
    sessions: Annotated[list[SessionInput], MAX_SESSIONS] = []
    min_attendance_percent: Percent = 75
    course_id: Code | None = Field(None, description="Chosen by the caller, else generated.")

    @classmethod
    def rules_broken(cls, fields: dict[str, Any]) -> list[InvalidInput]:
        found = Violations()
        if "sessions" in fields:
            fields["sessions"] = [SessionInput.model_validate(s) for s in fields["sessions"]]
        rules.course_rules(fields, found)
        return found.found


class BulkEnrollment(Command):
    participants: list[ParticipantDetails] = Field(min_length=1, max_length=limits.BULK_MAX)


class EnrollParticipants(Command):
    """One participant (``POST .../enrollments``) or many (``.../enrollments/bulk``)."""

    course_id: str
    participants: list[ParticipantDetails] = Field(min_length=1, max_length=limits.BULK_MAX)


class CancelEnrollment(Command):
    course_id: str
    participant_id: str
    reason: Text | None = None


class AttendanceMark(Command):
    participant_id: Code
    present: bool = True


class RecordAttendance(Command):
    session_id: Code
    marks: Annotated[list[AttendanceMark], MAX_BULK] = Field(min_length=1)


class RecordPlacement(Command):
    participant_id: Code
    company_partner_id: Code = Field(min_length=1)
    position: Name = Field(min_length=1)
    placed_on: date


class AssignMentor(Command):
    nib: Nib
    partner_id: Code = Field(min_length=1)
    mentor_name: Name = Field(min_length=1)
    mentor_email: Email | None = None
    starts_on: date | None = None
