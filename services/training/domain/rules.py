"""Pure validation rules of training: courses, participants, certificate numbers.

Shared values (NIB, province, country, e-mail) are checked by ``contracts.values``; here they
are applied field by field so a bulk request can refuse one row and keep the others, and a
refusal names the field as the request wrote it (``eligible_countries[1]``)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from contracts import values
from contracts.training import CourseKind, CourseSession
from ikmkit.service import limits
from ikmkit.service.errors import InvalidInput, Violations, checked

INDONESIA = "ID"
_CERTIFICATE = re.compile(r"^IKMT-(\d{4})-([A-Z2-7]{8})-([A-Z2-7]{6})$")
_COURSE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A course id is one URL path segment as it is (``/courses/{course_id}``): no ``/``, space,
``|`` (the enrollment key's separator) or control character, not ``.`` or ``..``."""


@dataclass(frozen=True)
class Keys:
    """The HMAC keys of the service: one mints certificate numbers, one derives pseudonyms."""

    certificate: bytes
    pseudonym: bytes


def check_country(code: str, field: str = "country") -> str:
    return checked(values.CountryCode, code, field)


def check_province(code: str | None, field: str = "province") -> str | None:
    return None if code is None else checked(values.ProvinceCode, code, field)


def check_nib(nib: str, field: str = "nib") -> str:
    return checked(values.Nib, nib, field)


def check_email(email: str, field: str = "email") -> str:
    return checked(values.Email, email, field)


# --- courses ---------------------------------------------------------------------------------


def validate_course_fields(
    *,
    course_id: str | None = None,
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
    """Checks a new course, naming every rule it breaks; returns the normalized (country,
    eligible countries)."""
    found = Violations()
    fields = {
        "course_id": course_id, "title": title, "start_date": start_date, "end_date": end_date,
        "capacity": capacity, "venues": venues, "online_url": online_url, "kind": kind,
        "province": province, "country": country, "eligible_countries": eligible_countries,
        "sessions": sessions, "min_attendance_percent": min_attendance_percent,
    }  # fmt: skip
    countries = course_rules(fields, found)
    found.raise_all()
    assert countries is not None
    return countries


def course_rules(fields: dict[str, Any], found: Violations) -> tuple[str, list[str]] | None:
    """Every rule of a new course whose fields ``fields`` has (a course: all of them; a body
    its request model refused: those it accepted), each broken one kept in ``found``, in
    this order; the normalized (country, eligible countries) if that rule ran and held."""
    countries = None
    for needed, rule in _COURSE_RULES:
        if all(name in fields for name in needed):
            held = found.check(rule, *(fields[name] for name in needed))
            if rule is _countries:
                countries = held
    return countries


def _check_order(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput(
            "end_date must not be before start_date", field="end_date", rule="end_before_start"
        )


def _check_capacity(capacity: int) -> None:
    if capacity <= 0:
        raise InvalidInput("capacity must be at least 1", field="capacity", rule="positive")


def _check_place(venues: list[str], online_url: str | None) -> None:
    if not venues and not online_url:
        raise InvalidInput(
            "a course needs a venue or an online link", field="venues", rule="venue_or_online"
        )


def _check_webinar_link(kind: CourseKind, online_url: str | None) -> None:
    if kind == "webinar" and not online_url:
        raise InvalidInput("a webinar needs an online link", field="online_url", rule="required")


def _check_attendance(percent: int) -> None:
    if not 0 <= percent <= 100:
        field = "min_attendance_percent"
        raise InvalidInput(f"{field} must be 0..100", field=field, rule="range")


def _check_names(course_id: str | None, title: str) -> None:
    found = Violations()
    if course_id is not None and not _COURSE_ID.fullmatch(course_id):
        found.check(
            fail, "a course id is 1-64 of A-Z a-z 0-9 . _ -", "course_id", "course_id_format"
        )
    if not title.strip():
        found.check(fail, "title must not be empty", "title", "required")
    found.raise_all()


def _check_years(start: date, end: date) -> None:
    """A course's days lie in the years of the platform's programs (its fiscal years)."""
    found = Violations()
    for field, day in (("start_date", start), ("end_date", end)):
        if not limits.YEAR_MIN <= day.year <= limits.YEAR_MAX:
            message = f"{field} must lie in the years {limits.YEAR_MIN}-{limits.YEAR_MAX}"
            found.check(fail, message, field, "date_out_of_range")
    found.raise_all()


def check_day(day: date, field: str) -> date:
    """A placement's or an assignment's day lies in the platform's years, as a course's do."""
    if not limits.YEAR_MIN <= day.year <= limits.YEAR_MAX:
        message = f"{field} must lie in the years {limits.YEAR_MIN}-{limits.YEAR_MAX}"
        raise InvalidInput(message, field=field, rule="date_out_of_range")
    return day


def fail(message: str, field: str, code: str) -> None:
    """A broken rule, for ``Violations.check`` (which keeps it among the others)."""
    raise InvalidInput(message, field=field, rule=code)


def _countries(country: str, eligible: list[str]) -> tuple[str, list[str]]:
    found = Violations()
    normalized = found.check(check_country, country)
    every = [
        found.check(check_country, c, field=f"eligible_countries[{i}]")
        for i, c in enumerate(eligible)
    ]
    found.raise_all()
    assert normalized is not None
    return normalized, [c for c in every if c is not None]


def _check_sessions(sessions: Sequence[CourseSession], start: date, end: date) -> None:
    found = Violations()
    seen: set[str] = set()
    for i, session in enumerate(sessions):
        if session.session_id in seen:
            found.check(
                fail,
                f"session id {session.session_id!r} is used twice",
                f"sessions[{i}].session_id",
                "unique",
            )
        seen.add(session.session_id)
        if not start <= session.day <= end:
            found.check(
                fail,
                "a session must fall within the course dates",
                f"sessions[{i}].day",
                "within_course",
            )
    found.raise_all()


_COURSE_RULES: tuple[tuple[tuple[str, ...], Callable[..., Any]], ...] = (
    (("course_id", "title"), _check_names),
    (("start_date", "end_date"), _check_years),
    (("start_date", "end_date"), _check_order),
    (("capacity",), _check_capacity),
    (("venues", "online_url"), _check_place),
    (("kind", "online_url"), _check_webinar_link),
    (("min_attendance_percent",), _check_attendance),
    (("province",), check_province),
    (("country", "eligible_countries"), _countries),
    (("sessions", "start_date", "end_date"), _check_sessions),
)
"""The rules of a new course and the fields each reads (``course_rules``)."""


def latest_day_anywhere(at: datetime) -> date:
    """The calendar day it is at ``at`` in the earliest time zone (UTC+14): a day that has not
    begun there has begun nowhere, whatever the country of the course."""
    return (at.astimezone(UTC) + timedelta(hours=14)).date()


def default_sessions(start: date, online: bool) -> list[CourseSession]:
    """A course declared without sessions has one, on its first day (a webinar, typically)."""
    return [
        CourseSession(
            session_id="s1", title="Main session", kind="online" if online else "lecture", day=start
        )
    ]


# --- participants ----------------------------------------------------------------------------


def participant_id(key: bytes, person: str) -> str:
    """A stable pseudonym of a person: the same person gets the same id in every course."""
    digest = hmac.new(key, f"participant|{person}".encode(), hashlib.sha256).hexdigest()
    return f"p-{digest[:20]}"


def enrollment_id(course_id: str, pid: str) -> str:
    return f"{course_id}|{pid}"


# --- certificates ----------------------------------------------------------------------------


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
