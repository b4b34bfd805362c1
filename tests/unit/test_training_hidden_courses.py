"""A regional officer probing another province's course ids: every route answers a hidden
course exactly as a course that does not exist (the registry's rule), so neither its existence
nor its state (finished, who is in it) leaks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.service.errors import AppError, NotFound
from ikmkit.unit_of_work import Units
from services.training import queries
from services.training.commands import (
    AttendanceMark,
    CancelEnrollment,
    EnrollParticipants,
    RecordAttendance,
    RecordPlacement,
    ScheduleCourse,
)
from services.training.domain.participants import ParticipantDetails
from services.training.domain.rules import Keys
from services.training.handlers import courses, enrollments
from services.training.store import COLLECTIONS, TrainingUnit
from tests.support.units import memory_units

NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
KEYS = Keys(certificate=b"test-certificate", pseudonym=b"test-pseudonym")
MINISTRY = Caller("officer", "ministry")
DKI = Caller("disperindag-31", "regional", province="31")

type Probe = Callable[[Units[TrainingUnit], str], Awaitable[object]]


@pytest.fixture
async def units() -> AsyncIterator[Units[TrainingUnit]]:
    async with memory_units(TrainingUnit, COLLECTIONS) as made:
        made.clock = fixed_clock(NOW)
        yield made


def central_java_course(course_id: str, start: date) -> ScheduleCourse:
    return ScheduleCourse.model_validate(
        {
            "title": "Diklat 3in1 Operator Mesin Jahit",
            "kind": "diklat_3in1",
            "organizer_id": "ministry",
            "start_date": start,
            "end_date": start + timedelta(days=2),
            "venues": ["Semarang"],
            "province": "33",
            "capacity": 5,
            "course_id": course_id,
        }
    )


def one(course_id: str) -> EnrollParticipants:
    return EnrollParticipants(
        course_id=course_id, participants=[ParticipantDetails(name="Ani", kind="student")]
    )


PROBES: dict[str, Probe] = {
    "read": lambda u, c: u.read(queries.get_course, c, DKI),
    "participants": lambda u, c: u.read(
        queries.participants_of, c, None, DKI, limit=10, cursor=None
    ),
    "enroll": lambda u, c: u.run(enrollments.enroll, one(c), DKI, KEYS),
    "enroll_many": lambda u, c: u.run(enrollments.enroll_many, one(c), DKI, KEYS),
    "cancel": lambda u, c: u.run(
        enrollments.cancel_enrollment,
        CancelEnrollment(course_id=c, participant_id="p-nobody"),
        DKI,
    ),
    "attendance": lambda u, c: u.run(
        courses.record_attendance,
        c,
        RecordAttendance(session_id="s1", marks=[AttendanceMark(participant_id="p-1")]),
        DKI,
    ),
    "complete": lambda u, c: u.run(courses.complete_course, c, DKI, KEYS),
    "placement": lambda u, c: u.run(
        courses.record_placement,
        c,
        RecordPlacement(
            participant_id="p-1",
            company_partner_id="pt-astra",
            position="operator",
            placed_on=NOW.date(),
        ),
        DKI,
    ),
}


async def answer(probe: Probe, units: Units[TrainingUnit], course_id: str) -> tuple[str, str]:
    with pytest.raises(AppError) as caught:
        await probe(units, course_id)
    return type(caught.value).__name__, caught.value.message.replace(course_id, "<id>")


@pytest.mark.parametrize("route", sorted(PROBES))
async def test_another_provinces_course_is_answered_as_a_missing_one(
    units: Units[TrainingUnit], route: str
) -> None:
    await units.run(courses.schedule_course, central_java_course("c-open", NOW.date()), MINISTRY)
    finished = central_java_course("c-done", NOW.date() - timedelta(days=30))
    await units.run(courses.schedule_course, finished, MINISTRY)
    await units.run(enrollments.enroll, one("c-open"), MINISTRY, KEYS)
    await units.run(courses.complete_course, "c-done", MINISTRY, KEYS)

    missing = await answer(PROBES[route], units, "c-none")
    assert missing[0] == NotFound.__name__
    assert await answer(PROBES[route], units, "c-open") == missing
    assert await answer(PROBES[route], units, "c-done") == missing
