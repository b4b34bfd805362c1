"""Training's gates as a fraudulent applicant or a careless officer probes them: a mentor
backdated under an MoU that has since expired, the people of a suspended enterprise enrolling,
an assignment ended twice. Each refusal names its rule and records no event."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from contracts.registry import EnterpriseReinstated, EnterpriseSuspended
from contracts.training import (
    AttendanceRecorded,
    CourseScheduled,
    MentorAssigned,
    ParticipantEnrolled,
)
from ikmkit.auth import Caller
from ikmkit.service.errors import Conflict, InvalidInput
from ikmkit.unit_of_work import Units
from services.training import queries
from services.training.commands import (
    AssignMentor,
    AttendanceMark,
    EnrollParticipants,
    RecordAttendance,
    ScheduleCourse,
)
from services.training.domain.mentoring import MentorAssignment, MoUCoverage, covering_mou
from services.training.domain.model import Course
from services.training.domain.participants import Enrollment, ParticipantDetails
from services.training.domain.rules import latest_day_anywhere
from services.training.handlers import courses, enrollments, mentoring
from services.training.store import TrainingUnit
from tests.support.training_units import (
    KEYS,
    MINISTRY,
    NIB,
    NOW,
    TODAY,
    course_starting,
    deliver,
    mou_signed,
    registered,
    training_units,
)
from tests.support.units import recorded_events

units = pytest.fixture(training_units, name="units")


def suspended() -> EnterpriseSuspended:
    return EnterpriseSuspended(
        nib=NIB, province="34", reason="audit", suspended_by="officer-34", suspended_at=NOW
    )


# --- a mentor backdated under an MoU that has since expired -----------------------------------


def test_the_mou_gate_wants_the_mou_in_force_on_the_start_day_and_today() -> None:
    covered_then = MoUCoverage(
        id="mou-2020|p",
        mou_id="mou-2020",
        partner_id="p",
        scope="technical_assistance",
        status="signed",  # MoUExpired not arrived (late registry task): still "signed" here
        valid_from=date(2020, 1, 1),
        valid_until=date(2020, 12, 31),
    )
    with pytest.raises(Conflict) as caught:
        covering_mou([covered_then], "p", date(2020, 6, 1), today=TODAY)
    assert (caught.value.field, caught.value.rule) == ("partner_id", "mou_expired")
    assert covering_mou([covered_then], "p", date(2020, 6, 1), today=date(2020, 7, 1))


async def test_a_backdated_assignment_under_an_expired_mou_is_refused_and_announces_nothing(
    units: Units[TrainingUnit],
) -> None:
    await deliver(units, registered())
    in_force_in_2020 = mou_signed("mou-2020", date(2020, 1, 1), date(2020, 12, 31))
    await deliver(units, in_force_in_2020)
    backdated = AssignMentor(
        nib=NIB, partner_id="pii", mentor_name="Ir. Bambang", starts_on=date(2020, 6, 1)
    )
    with pytest.raises(Conflict) as caught:
        await units.run(mentoring.assign_mentor, backdated, MINISTRY)
    assert caught.value.rule == "mou_expired"
    assert await recorded_events(units) == []


# --- the people of a suspended enterprise -----------------------------------------------------


def schedule() -> ScheduleCourse:
    start = TODAY + timedelta(days=10)
    return course_starting(start, venues=["Yogyakarta"], province="34", capacity=10)


def worker(name: str) -> ParticipantDetails:
    return ParticipantDetails(name=name, kind="ikm_worker", nib=NIB)


async def test_a_suspended_enterprise_cannot_enroll_its_people_until_reinstated(
    units: Units[TrainingUnit],
) -> None:
    await units.run(courses.schedule_course, schedule(), MINISTRY)
    await deliver(units, registered())
    await deliver(units, suspended(), 2)
    owner = Caller("owner", "enterprise", nib=NIB)
    one = EnrollParticipants(course_id="c-1", participants=[worker("Ani")])
    with pytest.raises(InvalidInput) as caught:
        await units.run(enrollments.enroll, one, owner, KEYS)
    assert (caught.value.field, caught.value.rule) == ("nib", "enterprise_suspended")
    many = EnrollParticipants(
        course_id="c-1",
        participants=[worker("Budi"), ParticipantDetails(name="Cici", kind="student")],
    )
    outcome = await units.run(enrollments.enroll_many, many, MINISTRY, KEYS)
    assert [(e.row, e.field, e.rule) for e in outcome.errors] == [
        (1, "nib", "enterprise_suspended")
    ]
    assert outcome.enrolled == 1  # the student, who has no NIB
    enrolled = [e for e in await recorded_events(units) if isinstance(e, ParticipantEnrolled)]
    assert [e.participant_name for e in enrolled] == ["Cici"]

    reinstated = EnterpriseReinstated(
        nib=NIB, province="34", reason="cleared", reinstated_by="officer-34", reinstated_at=NOW
    )
    await deliver(units, reinstated, 3)
    seat = await units.run(enrollments.enroll, one, owner, KEYS)
    assert (seat.status, seat.nib, seat.province) == ("enrolled", NIB, "34")


# --- ending an assignment that has ended ------------------------------------------------------


def test_an_ended_assignment_cannot_end_again() -> None:
    active = MentorAssignment(
        id="ma-1",
        nib=NIB,
        province="34",
        partner_id="pii",
        mou_id="mou-1",
        mentor_name="Ir. Bambang",
        starts_on=TODAY,
        ends_on=TODAY + timedelta(days=300),
        assigned_by="officer",
        assigned_at=NOW,
    )
    ended = active.end("mou_terminated", NOW)
    assert ended.state.status == "ended" and len(ended.events) == 1
    with pytest.raises(Conflict) as caught:
        ended.state.end("mou_expired", NOW + timedelta(days=1))
    assert (caught.value.field, caught.value.rule) == ("status", "assignment_ended")


async def test_the_refusals_above_leave_only_the_course_and_the_assignment_events(
    units: Units[TrainingUnit],
) -> None:
    """The gates refuse before anything is collected: what a refused command leaves is nothing."""
    await units.run(courses.schedule_course, schedule(), MINISTRY)
    await deliver(units, registered())
    await deliver(units, mou_signed("mou-now", TODAY, TODAY + timedelta(days=90)))
    await units.run(
        mentoring.assign_mentor, AssignMentor(nib=NIB, partner_id="pii", mentor_name="A"), MINISTRY
    )
    await deliver(units, suspended(), 2)
    with pytest.raises(InvalidInput):
        one = EnrollParticipants(course_id="c-1", participants=[worker("Ani")])
        await units.run(enrollments.enroll, one, MINISTRY, KEYS)
    assert [type(e) for e in await recorded_events(units)] == [CourseScheduled, MentorAssigned]


# --- attendance of a session that has not been held ---------------------------------------------


async def test_attendance_of_a_session_not_yet_held_is_refused_and_records_nothing(
    units: Units[TrainingUnit],
) -> None:
    """An organizer marking everyone present ahead of the course, to certify them at its end."""
    await units.run(courses.schedule_course, schedule(), MINISTRY)  # starts in 10 days
    seat = await units.run(
        enrollments.enroll,
        EnrollParticipants(
            course_id="c-1", participants=[ParticipantDetails(name="Ani", kind="student")]
        ),
        MINISTRY,
        KEYS,
    )
    marks = RecordAttendance(
        session_id="s1", marks=[AttendanceMark(participant_id=seat.participant_id)]
    )
    with pytest.raises(Conflict) as caught:
        await units.run(courses.record_attendance, "c-1", marks, MINISTRY)
    assert (caught.value.field, caught.value.rule) == ("session_id", "session_not_held")
    assert not [e for e in await recorded_events(units) if isinstance(e, AttendanceRecorded)]
    [stored] = (
        await units.read(queries.participants_of, "c-1", None, MINISTRY, limit=5, cursor=None)
    ).items
    assert stored.attended == {}


def test_a_session_day_counts_as_begun_once_it_has_begun_anywhere() -> None:
    """11:00 UTC is already the next day in Kiribati (UTC+14); 09:00 UTC is not."""
    assert latest_day_anywhere(datetime(2026, 3, 2, 11, tzinfo=UTC)) == date(2026, 3, 3)
    assert latest_day_anywhere(datetime(2026, 3, 2, 9, tzinfo=UTC)) == date(2026, 3, 2)
    jayapura_morning = datetime(2026, 3, 3, 7, tzinfo=timezone(timedelta(hours=9)))
    assert latest_day_anywhere(jayapura_morning) >= date(2026, 3, 3)


# --- days far out of the platform's years ---------------------------------------------------


async def test_a_mentor_starting_in_the_year_9999_is_refused_naming_the_day(
    units: Units[TrainingUnit],
) -> None:
    await deliver(units, registered())
    await deliver(units, mou_signed("mou-long", TODAY, date(9999, 12, 31)))
    far = AssignMentor(nib=NIB, partner_id="pii", mentor_name="A", starts_on=date(9999, 1, 1))
    with pytest.raises(InvalidInput) as caught:
        await units.run(mentoring.assign_mentor, far, MINISTRY)
    assert (caught.value.field, caught.value.rule) == ("starts_on", "date_out_of_range")
    assert await recorded_events(units) == []


def test_a_placement_in_the_year_9999_is_refused_naming_the_day() -> None:
    course = Course.model_validate(
        {
            **schedule().model_dump(exclude={"course_id"}),
            "course_id": "c-1",
            "sessions": [],
            "scheduled_by": "officer",
            "scheduled_at": NOW,
        }
    )
    graduate = Enrollment(
        id="c-1|p-1",
        course_id="c-1",
        participant_id="p-1",
        name="Ani",
        kind="student",
        status="completed",
        seq=1,
    )
    with pytest.raises(InvalidInput) as caught:
        course.place("p-1", graduate, "pt-astra", "operator", date(9999, 1, 1), "officer", NOW)
    assert (caught.value.field, caught.value.rule) == ("placed_on", "date_out_of_range")
    placed = course.place("p-1", graduate, "pt-astra", "operator", course.end_date, "o", NOW)
    assert placed.state.placement.placed_on == course.end_date


# --- a certificate for someone not trained --------------------------------------------------


def test_a_course_with_no_attendance_threshold_still_certifies_only_who_attended() -> None:
    """``min_attendance_percent`` 0 (allowed) certified every seated participant, also one who
    attended no session: a certificate of training for someone not trained."""
    course = (
        Course.model_validate(
            {
                **schedule().model_dump(exclude={"course_id"}),
                "start_date": TODAY - timedelta(days=3),
                "end_date": TODAY - timedelta(days=1),
                "course_id": "c-1",
                "min_attendance_percent": 0,
                "sessions": [],
                "scheduled_by": "officer",
                "scheduled_at": NOW,
            }
        )
        .schedule()
        .state
    )
    seated = [
        Enrollment(
            id=f"c-1|{pid}",
            course_id="c-1",
            participant_id=pid,
            name=name,
            kind="student",
            status="enrolled",
            seq=n,
            attended=attended,
        )
        for n, (pid, name, attended) in enumerate(
            [("p-1", "Ani", {"s1": True}), ("p-2", "Budi", {"s1": False}), ("p-3", "Cici", {})],
            start=1,
        )
    ]
    done = course.complete(seated, b"key", "officer", NOW).state
    assert [e.participant_id for e in done.passed] == ["p-1"]
    assert [e.participant_id for e in done.failed] == ["p-2", "p-3"]
    assert [c.participant_id for c in done.certificates] == ["p-1"]
