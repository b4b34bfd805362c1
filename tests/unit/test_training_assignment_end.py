"""An officer ends a mentor assignment before its MoU does (the contract's ``ended_by_officer``,
which nothing could produce): once, by those who may assign, invisible to the others."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from contracts.training import MentorAssigned, MentorAssignmentEnded
from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.service.errors import Conflict, Forbidden, NotFound
from ikmkit.unit_of_work import Units
from services.training import queries
from services.training.commands import AssignMentor
from services.training.handlers import mentoring
from services.training.store import TrainingUnit
from tests.support.training_units import (
    MINISTRY,
    NIB,
    NOW,
    deliver,
    mou_signed,
    registered,
    training_units,
)
from tests.support.units import recorded_events

PII = Caller("pii-admin", "partner", partner_id="pii")

units = pytest.fixture(training_units, name="units")


async def assigned(units: Units[TrainingUnit]) -> str:
    await deliver(units, registered())
    await deliver(units, mou_signed("mou-1", date(2026, 1, 1), date(2027, 12, 31)))
    cmd = AssignMentor(nib=NIB, partner_id="pii", mentor_name="Ir. Bambang")
    return (await units.run(mentoring.assign_mentor, cmd, PII)).id


async def test_the_partner_ends_its_assignment_once_and_it_is_announced(
    units: Units[TrainingUnit],
) -> None:
    assignment_id = await assigned(units)
    units.clock = fixed_clock(NOW + timedelta(days=40))
    ended = await units.run(mentoring.end_assignment, assignment_id, PII)
    assert (ended.status, ended.end_reason, ended.ended_at) == (
        "ended",
        "ended_by_officer",
        NOW + timedelta(days=40),
    )
    with pytest.raises(Conflict) as again:
        await units.run(mentoring.end_assignment, assignment_id, MINISTRY)
    assert again.value.rule == "assignment_ended"
    events = await recorded_events(units)
    assert [type(e) for e in events] == [MentorAssigned, MentorAssignmentEnded]
    end = events[-1]
    assert isinstance(end, MentorAssignmentEnded)
    assert (end.assignment_id, end.reason, end.province, end.mou_id) == (
        assignment_id,
        "ended_by_officer",
        "34",
        "mou-1",
    )
    stats = await units.read(queries.stats, MINISTRY)
    assert stats.active_mentor_assignments == 0


async def test_only_those_who_assign_may_end_and_others_do_not_see_it(
    units: Units[TrainingUnit],
) -> None:
    assignment_id = await assigned(units)
    other_partner = Caller("astra", "partner", partner_id="ydba")
    other_province = Caller("disperindag-11", "regional", province="11")
    for stranger in (other_partner, other_province):
        with pytest.raises(NotFound) as hidden:
            await units.run(mentoring.end_assignment, assignment_id, stranger)
        with pytest.raises(NotFound) as missing:
            await units.run(mentoring.end_assignment, "ma-none", stranger)
        assert hidden.value.message.replace(assignment_id, "?") == missing.value.message.replace(
            "ma-none", "?"
        )
    with pytest.raises(Forbidden):  # sees its province's assignments, does not assign them
        await units.run(
            mentoring.end_assignment,
            assignment_id,
            Caller("disperindag-34", "regional", province="34"),
        )
    assert [type(e) for e in await recorded_events(units)] == [MentorAssigned]
    assert (await units.read(queries.get_assignment, assignment_id, MINISTRY)).status == "active"


async def test_the_same_mentor_is_not_assigned_twice_to_one_enterprise_while_active(
    units: Units[TrainingUnit],
) -> None:
    """A double submission made two active assignments of one mentor to one IKM, announced
    twice and counted twice in /stats."""
    first = await assigned(units)
    again = AssignMentor(nib=NIB, partner_id="pii", mentor_name="  ir. BAMBANG ")
    with pytest.raises(Conflict) as twice:
        await units.run(mentoring.assign_mentor, again, PII)
    assert (twice.value.field, twice.value.rule) == ("mentor_name", "duplicate_assignment")
    other = AssignMentor(nib=NIB, partner_id="pii", mentor_name="Dr. Sari")
    await units.run(mentoring.assign_mentor, other, PII)  # a second mentor is fine
    await units.run(mentoring.end_assignment, first, PII)
    back = await units.run(mentoring.assign_mentor, again, PII)  # after the first ended
    assert back.status == "active"
    kinds = [type(e) for e in await recorded_events(units)]
    assert kinds == [MentorAssigned, MentorAssigned, MentorAssignmentEnded, MentorAssigned]
    assert (await units.read(queries.stats, MINISTRY)).active_mentor_assignments == 2


async def test_a_mentor_whose_term_ran_out_is_assigned_again_under_a_renewed_mou(
    units: Units[TrainingUnit],
) -> None:
    """The first assignment ended with its MoU's term (no MoUExpired came, so it is still
    stored active): under the renewed MoU the same mentor is assigned again, not refused as
    a duplicate."""
    await assigned(units)  # under mou-1, until 2027-12-31
    await deliver(units, mou_signed("mou-2", date(2028, 1, 1), date(2029, 12, 31)))  # renewed
    units.clock = fixed_clock(datetime(2028, 2, 1, 9, tzinfo=UTC))
    again = AssignMentor(nib=NIB, partner_id="pii", mentor_name="Ir. Bambang")
    made = await units.run(mentoring.assign_mentor, again, PII)
    assert (made.mou_id, made.ends_on) == ("mou-2", date(2029, 12, 31))
