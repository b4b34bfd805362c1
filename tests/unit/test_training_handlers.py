"""Training's use cases on an in-memory store and the real outbox (no Kafka): each handler's
state and the events the domain recorded for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from contracts.registry import (
    EnterpriseClassChanged,
    EnterpriseSuspended,
    MoUExpired,
    MoUParty,
    MoUSigned,
    MoUTerminated,
)
from contracts.training import (
    CertificateIssued,
    CourseCompleted,
    CourseScheduled,
    EnrollmentCancelled,
    MentorAssigned,
    MentorAssignmentEnded,
    ParticipantEnrolled,
    ParticipantWaitlisted,
    TrainingCompleted,
)
from ikmkit.auth import Caller
from ikmkit.messaging.replica import SequenceGap
from ikmkit.service.errors import Conflict, Forbidden, InvalidInput, NotFound
from ikmkit.unit_of_work import Units
from services.training import consumers, queries, replicas
from services.training.commands import (
    AssignMentor,
    CancelEnrollment,
    EnrollParticipants,
    RecordAttendance,
    RecordPlacement,
    ScheduleCourse,
)
from services.training.domain.participants import ParticipantDetails
from services.training.domain.rules import Keys
from services.training.handlers import courses, enrollments, mentoring
from services.training.store import TrainingUnit
from tests.support.training_units import (
    KEYS,
    MINISTRY,
    NIB,
    course_starting,
    deliver,
    meta,
    mou_signed,
    registered,
    training_units_at,
)
from tests.support.units import recorded_events

NOW = datetime(2024, 6, 1, 9, tzinfo=UTC)
TODAY = NOW.date()


@pytest.fixture
async def units() -> AsyncIterator[Units[TrainingUnit]]:
    async with training_units_at(NOW) as made:
        yield made


def schedule(**overrides: Any) -> ScheduleCourse:
    return course_starting(TODAY + timedelta(days=10), **overrides)


def person(name: str, **fields: Any) -> ParticipantDetails:
    return ParticipantDetails.model_validate({"name": name, "kind": "student", **fields})


async def enroll(units: Units[TrainingUnit], *people: ParticipantDetails) -> list[Any]:
    made = []
    for p in people:
        cmd = EnrollParticipants(course_id="c-1", participants=[p])
        made.append(await units.run(enrollments.enroll, cmd, MINISTRY, KEYS))
    return made


async def test_scheduling_records_the_course_and_its_default_session(
    units: Units[TrainingUnit],
) -> None:
    course = await units.run(
        courses.schedule_course, schedule(country="id", eligible_countries=["bt"]), MINISTRY
    )
    assert (course.country, course.eligible_countries) == ("ID", ["BT"])
    assert [s.session_id for s in course.sessions] == ["s1"]
    [event] = await recorded_events(units)
    assert isinstance(event, CourseScheduled)
    assert (event.course_id, event.scheduled_by, event.scheduled_at) == ("c-1", "officer", NOW)
    with pytest.raises(Conflict):
        await units.run(courses.schedule_course, schedule(), MINISTRY)
    with pytest.raises(InvalidInput) as refused:
        await units.run(courses.schedule_course, schedule(course_id="c-2", capacity=0), MINISTRY)
    assert (refused.value.field, refused.value.rule) == ("capacity", "positive")


async def test_a_full_course_waitlists_and_a_freed_seat_goes_to_the_next_in_line(
    units: Units[TrainingUnit],
) -> None:
    await units.run(courses.schedule_course, schedule(), MINISTRY)
    dewi, rudi = await enroll(units, person("Dewi"), person("Rudi"))
    assert (dewi.status, rudi.status) == ("enrolled", "waitlisted")
    with pytest.raises(Conflict) as again:
        await enroll(units, person("dewi "))
    assert again.value.rule == "duplicate_enrollment"

    cmd = CancelEnrollment(course_id="c-1", participant_id=dewi.participant_id, reason="sick")
    promoted = await units.run(enrollments.cancel_enrollment, cmd, MINISTRY)
    assert promoted is not None and promoted.participant_id == rudi.participant_id
    course = await units.read(queries.get_course, "c-1", MINISTRY)
    assert (course.enrolled_count, course.waitlisted_count) == (1, 0)

    events = (await recorded_events(units))[1:]
    assert [type(e) for e in events] == [
        ParticipantEnrolled,
        ParticipantWaitlisted,
        EnrollmentCancelled,
        ParticipantEnrolled,
    ]
    waitlisted, cancelled, seated = events[1], events[2], events[3]
    assert isinstance(waitlisted, ParticipantWaitlisted) and waitlisted.position == 1
    assert isinstance(cancelled, EnrollmentCancelled)
    assert cancelled.promoted_participant_id == rudi.participant_id
    assert isinstance(seated, ParticipantEnrolled) and seated.promoted_from_waitlist


async def test_bulk_enrollment_reports_refused_rows_and_enrolls_the_rest(
    units: Units[TrainingUnit],
) -> None:
    await units.run(courses.schedule_course, schedule(capacity=5), MINISTRY)
    rows = [person("Dewi"), person("Dewi"), person("Andi", province="99"), person("Budi")]
    cmd = EnrollParticipants(course_id="c-1", participants=rows)
    outcome = await units.run(enrollments.enroll_many, cmd, MINISTRY, KEYS)
    assert (outcome.enrolled, outcome.waitlisted) == (2, 0)
    assert [(e.row, e.field, e.rule) for e in outcome.errors] == [
        (2, "participant", "duplicate_enrollment"),
        (3, "province", "province_unknown"),
    ]


async def test_completion_certifies_who_attended_enough_and_places_them(
    units: Units[TrainingUnit],
) -> None:
    past = schedule(
        capacity=5, start_date=TODAY - timedelta(days=3), end_date=TODAY - timedelta(days=1)
    )
    await units.run(courses.schedule_course, past, MINISTRY)
    dewi, rudi = await enroll(units, person("Dewi"), person("Rudi"))
    marks = RecordAttendance.model_validate(
        {
            "session_id": "s1",
            "marks": [
                {"participant_id": dewi.participant_id, "present": True},
                {"participant_id": rudi.participant_id, "present": False},
            ],
        }
    )
    assert await units.run(courses.record_attendance, "c-1", marks, MINISTRY) == 2

    done = await units.run(courses.complete_course, "c-1", MINISTRY, KEYS)
    assert (done.completed, done.not_completed) == (1, 1)
    events = await recorded_events(units)
    assert [type(e) for e in events[-3:]] == [TrainingCompleted, CertificateIssued, CourseCompleted]
    [number] = done.certificates
    check = await units.read(queries.verify_certificate, number.lower(), KEYS)
    assert check.genuine and check.participant_id == dewi.participant_id
    forged = await units.read(queries.verify_certificate, number, Keys(b"other", b"other"))
    assert not forged.genuine

    with pytest.raises(Conflict) as closed:
        await enroll(units, person("Late"))
    assert closed.value.rule == "course_finished"
    placement = RecordPlacement(
        participant_id=dewi.participant_id,
        company_partner_id="pt-garmen",
        position="operator",
        placed_on=TODAY,
    )
    placed = await units.run(courses.record_placement, "c-1", placement, MINISTRY)
    assert (placed.placement_partner_id, placed.certificate_number) == ("pt-garmen", number)
    refused = placement.model_copy(update={"participant_id": rudi.participant_id})
    with pytest.raises(Conflict) as not_certified:
        await units.run(courses.record_placement, "c-1", refused, MINISTRY)
    assert not_certified.value.rule == "not_certified"


async def sign_mou(units: Units[TrainingUnit], partner: str) -> MoUSigned:
    signed = mou_signed("mou-1", date(2024, 1, 1), date(2024, 12, 31), partner)
    await deliver(units, signed)
    return signed


async def test_a_mentor_is_assigned_under_a_covering_mou_and_ends_with_it(
    units: Units[TrainingUnit],
) -> None:
    cmd = AssignMentor(nib=NIB, partner_id="pii", mentor_name="Ir.  Bambang")
    with pytest.raises(InvalidInput) as unknown:
        await units.run(mentoring.assign_mentor, cmd, MINISTRY)
    assert unknown.value.rule == "unknown_nib"
    await deliver(units, registered())
    with pytest.raises(Conflict) as no_mou:
        await units.run(mentoring.assign_mentor, cmd, MINISTRY)
    assert no_mou.value.rule == "mou_required"

    signed = await sign_mou(units, "pii")
    made = await units.run(mentoring.assign_mentor, cmd, MINISTRY)
    assert (made.mou_id, made.ends_on, made.province) == ("mou-1", date(2024, 12, 31), "34")
    assert made.mentor_name == "Ir. Bambang"

    terminated = MoUTerminated(
        mou_id="mou-1",
        scope="technical_assistance",
        parties=signed.parties,
        reason="partner withdrew",
        terminated_by="ministry",
        terminated_at=NOW,
    )
    await deliver(units, terminated, 2)
    ended = await units.read(queries.get_assignment, made.id, MINISTRY)
    assert (ended.status, ended.end_reason) == ("ended", "mou_terminated")
    assert [type(e) for e in await recorded_events(units)] == [
        MentorAssigned,
        MentorAssignmentEnded,
    ]
    with pytest.raises(Conflict) as after:
        await units.run(mentoring.assign_mentor, cmd, MINISTRY)
    assert after.value.rule == "mou_terminated"


async def test_callers_are_refused_outside_their_reach(units: Units[TrainingUnit]) -> None:
    jateng, dki = (
        Caller("disperindag-33", "regional", province="33"),
        Caller("disperindag-31", "regional", province="31"),
    )
    with pytest.raises(Forbidden) as other_province:
        await units.run(courses.schedule_course, schedule(), dki)
    assert other_province.value.field == "province"
    await units.run(courses.schedule_course, schedule(), jateng)
    assert (await units.read(queries.get_course, "c-1", jateng)).course_id == "c-1"
    with pytest.raises(NotFound):
        await units.read(queries.get_course, "c-1", dki)
    with pytest.raises(NotFound):
        await units.read(queries.participants_of, "c-1", None, dki, limit=10, cursor=None)
    with pytest.raises(Forbidden):
        await units.read(queries.stats, dki, "33")

    ikm = Caller("ikm", "enterprise", nib=NIB)
    someone_else = EnrollParticipants(
        course_id="c-1", participants=[person("Siti", kind="ikm_owner", nib="9" * 13)]
    )
    with pytest.raises(Forbidden):
        await units.run(enrollments.enroll, someone_else, ikm, KEYS)
    partner = Caller("p", "partner", partner_id="pii")
    other_mentor = AssignMentor(nib=NIB, partner_id="another", mentor_name="X")
    with pytest.raises(Forbidden):
        await units.run(mentoring.assign_mentor, other_mentor, partner)
    assert [type(e) for e in await recorded_events(units)] == [CourseScheduled]


async def test_the_enterprise_replica_refuses_a_gap_and_advances_on_ignored_events(
    units: Units[TrainingUnit],
) -> None:
    suspended = EnterpriseSuspended(
        nib=NIB, province="34", reason="audit", suspended_by="officer", suspended_at=NOW
    )
    with pytest.raises(SequenceGap):
        async with units.open() as uow:
            await replicas.on_enterprise_event(suspended, meta(suspended, 3), uow)

    changed = EnterpriseClassChanged(
        nib=NIB, province="34", previous_class="small", new_class="medium", changed_at=NOW
    )
    async with units.open() as uow:
        await replicas.on_enterprise_event(registered(), meta(registered()), uow)
        await replicas.on_enterprise_event(changed, meta(changed, 2), uow)
        await replicas.on_enterprise_event(suspended, meta(suspended, 3), uow)
        await replicas.on_enterprise_event(registered(), meta(registered()), uow)
    async with units.open() as uow:
        known = await replicas.ENTERPRISES.get(uow.tx, NIB)
    assert known is not None
    assert (known.sequence, known.status, known.name) == (3, "suspended", "CV Batik Sekar")
    cmd = AssignMentor(nib=NIB, partner_id="pii", mentor_name="Ir. Bambang")
    with pytest.raises(Conflict) as refused:
        await units.run(mentoring.assign_mentor, cmd, MINISTRY)
    assert refused.value.rule == "suspended"


async def test_an_mou_ending_before_its_signature_arrived_is_a_gap(
    units: Units[TrainingUnit],
) -> None:
    expired = MoUExpired(
        mou_id="mou-1",
        scope="technical_assistance",
        parties=[MoUParty(partner_id="pii")],
        valid_until=date(2024, 12, 31),
        expired_at=NOW,
    )
    with pytest.raises(SequenceGap):
        async with units.open() as uow:
            await consumers.on_mou_ended(expired, meta(expired, 2), uow)
    await sign_mou(units, "pii")
    async with units.open() as uow:
        await consumers.on_mou_ended(expired, meta(expired, 2), uow)
        coverage = await uow.coverage.of_partner("pii")
    assert [(c.mou_id, c.status) for c in coverage] == [("mou-1", "expired")]


async def test_a_bulk_row_breaking_several_rules_names_each(units: Units[TrainingUnit]) -> None:
    await units.run(courses.schedule_course, schedule(capacity=5), MINISTRY)
    rows = [person("Andi", province="99", email="not an address"), person("Budi")]
    cmd = EnrollParticipants(course_id="c-1", participants=rows)
    outcome = await units.run(enrollments.enroll_many, cmd, MINISTRY, KEYS)
    assert outcome.enrolled == 1
    assert [(e.row, e.field, e.rule) for e in outcome.errors] == [
        (1, "email", "email_format"),
        (1, "province", "province_unknown"),
    ]
