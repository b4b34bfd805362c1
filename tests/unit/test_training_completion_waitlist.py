"""A course that closes with people still on its waitlist lets them go, announced: they were
left "waitlisted" for ever (in /stats, in the participant list, unable to cancel a finished
course's place) with no event telling them the course was over."""

from __future__ import annotations

from datetime import timedelta

import pytest

from contracts.training import CourseCompleted, EnrollmentCancelled
from ikmkit.unit_of_work import Units
from services.training import queries
from services.training.commands import AttendanceMark, EnrollParticipants, RecordAttendance
from services.training.domain.participants import ParticipantDetails
from services.training.handlers import courses, enrollments
from services.training.store import TrainingUnit
from tests.support.training_units import (
    KEYS,
    MINISTRY,
    NOW,
    TODAY,
    course_starting,
    training_units,
)
from tests.support.units import recorded_events

units = pytest.fixture(training_units, name="units")


async def test_completion_lets_the_waitlist_go_and_says_so(units: Units[TrainingUnit]) -> None:
    course = course_starting(
        TODAY - timedelta(days=3),
        title="Diklat 3in1 Operator CNC",
        venues=["Bandung"],
        province="32",
    )
    await units.run(courses.schedule_course, course, MINISTRY)
    people = [ParticipantDetails(name=n, kind="student") for n in ("Ani", "Budi", "Cici")]
    bulk = EnrollParticipants(course_id="c-1", participants=people)
    outcome = await units.run(enrollments.enroll_many, bulk, MINISTRY, KEYS)
    seated, *waiting = (r.participant_id for r in outcome.results)
    assert (outcome.enrolled, outcome.waitlisted) == (1, 2)
    marks = RecordAttendance(session_id="s1", marks=[AttendanceMark(participant_id=seated)])
    await units.run(courses.record_attendance, "c-1", marks, MINISTRY)

    done = await units.run(courses.complete_course, "c-1", MINISTRY, KEYS)
    assert (done.completed, done.not_completed) == (1, 0)

    listed = await units.read(queries.participants_of, "c-1", None, MINISTRY, limit=10, cursor=None)
    assert {e.participant_id: e.status for e in listed.items} == {
        seated: "completed",
        waiting[0]: "cancelled",
        waiting[1]: "cancelled",
    }
    assert all(e.cancelled_at == NOW for e in listed.items if e.status == "cancelled")
    assert (await units.read(queries.get_course, "c-1", MINISTRY)).waitlisted_count == 0
    assert (await units.read(queries.stats, MINISTRY)).waitlisted == 0

    events = await recorded_events(units)
    let_go = [e for e in events if isinstance(e, EnrollmentCancelled)]
    assert [(e.participant_id, e.was_waitlisted, e.cancelled_by) for e in let_go] == [
        (waiting[0], True, MINISTRY.subject),
        (waiting[1], True, MINISTRY.subject),
    ]
    assert let_go[0].course_title == "Diklat 3in1 Operator CNC"
    assert isinstance(events[-1], CourseCompleted)
