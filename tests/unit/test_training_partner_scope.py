"""A partner schedules courses in its own name only: listing itself as a co-organizer of a
course "organized by the ministry" announced a ministry course the ministry never scheduled."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from contracts.training import CourseScheduled
from ikmkit.auth import Caller
from ikmkit.service.errors import Forbidden
from ikmkit.unit_of_work import Units
from services.training.commands import ScheduleCourse
from services.training.handlers import courses
from services.training.store import TrainingUnit
from tests.support.training_units import NOW, training_units
from tests.support.units import recorded_events

YDBA = Caller("ydba-admin", "partner", partner_id="ydba")

units = pytest.fixture(training_units, name="units")


def course(**changes: Any) -> ScheduleCourse:
    fields: dict[str, Any] = {
        "title": "Ayah angkat: pemasok otomotif",
        "kind": "technical_assistance",
        "organizer_id": "ydba",
        "start_date": NOW.date() + timedelta(days=7),
        "end_date": NOW.date() + timedelta(days=9),
        "venues": ["Yogyakarta"],
        "province": "34",
        "capacity": 30,
    }
    return ScheduleCourse.model_validate({**fields, **changes})


async def test_a_partner_cannot_schedule_a_course_in_anothers_name(
    units: Units[TrainingUnit],
) -> None:
    posing = course(organizer_id="ministry", co_organizer_ids=["ydba"])
    with pytest.raises(Forbidden) as refused:
        await units.run(courses.schedule_course, posing, YDBA)
    assert (refused.value.field, refused.value.rule) == ("organizer_id", "own_course")
    assert await recorded_events(units) == []

    own = await units.run(courses.schedule_course, course(co_organizer_ids=["ypti"]), YDBA)
    assert own.organizer_id == "ydba"
    ministry = Caller("officer", "ministry")
    for_partner = await units.run(courses.schedule_course, course(organizer_id="ypti"), ministry)
    assert for_partner.organizer_id == "ypti"  # the ministry schedules for anyone
    assert [type(e) for e in await recorded_events(units)] == [CourseScheduled, CourseScheduled]
