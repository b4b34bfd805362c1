"""A regional officer probing another province's course ids: every route answers a hidden
course exactly as a course that does not exist (the registry's rule), so neither its existence
nor its state (finished, who is in it) leaks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

import pytest

from ikmkit.auth import Caller
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
from services.training.handlers import courses, enrollments
from services.training.store import TrainingUnit
from tests.support.training_units import KEYS, MINISTRY, NOW, course_starting, training_units

DKI = Caller("disperindag-31", "regional", province="31")

type Probe = Callable[[Units[TrainingUnit], str], Awaitable[object]]

units = pytest.fixture(training_units, name="units")


def central_java_course(course_id: str, start: date) -> ScheduleCourse:
    return course_starting(start, course_id=course_id, capacity=5)


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
