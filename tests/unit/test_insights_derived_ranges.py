"""The derived ``course`` values of participants.enrolled answer every dimension filter as
the stored ``course`` cells of webinars.participants do (a webinar's enrollment adds to
both, same course, same place): whatever characters a course id holds (a course's code is
the caller's choice), e.g. one beyond U+FFFF, which sorts after the ``\\uffff`` that bounds
a prefix."""

from __future__ import annotations

from typing import Any

import pytest

from contracts.base import Event
from contracts.training import EnrollmentCancelled
from ikmkit.unit_of_work import Units
from services.insights.store import InsightsUnit
from tests.support.insights_feed import MAY, Feed, enrolled, insights_units, points

units = pytest.fixture(insights_units, name="units")

COURSES = ["c1", "😀-kursus", "𠀀", "K/1", "\uffff", "zz"]


@pytest.mark.parametrize("dimension", [None, "course", "course:", "course:c", "course:😀"])
async def test_derived_courses_read_as_the_stored_ones(
    units: Units[InsightsUnit], dimension: str | None
) -> None:
    await Feed(units).batch(
        *[enrolled(n, course=c, province="32" if n % 2 else None) for n, c in enumerate(COURSES)]
    )
    stored = await points(units, "webinars.participants", by="dimension", dimension=dimension)
    derived = await points(units, "participants.enrolled", by="dimension", dimension=dimension)
    courses = {k: v for k, v in derived.items() if k.startswith("course:")}
    assert courses == stored


def cancelled(n: int, **more: Any) -> Event:
    """``enrolled(n, ...)``'s seat given up (the participant's facts as the event has them)."""
    seat = enrolled(n, **more)
    facts = seat.model_dump(exclude={"start_date", "end_date", "promoted_from_waitlist"})
    del facts["enrolled_at"]
    return EnrollmentCancelled(**facts, was_waitlisted=False, cancelled_by="x", cancelled_at=MAY)


async def test_a_derived_sum_of_nothing_is_no_cell(units: Units[InsightsUnit]) -> None:
    """A derived cell summing to 0 (a seat given up under another country than it was
    taken) reads as the stored cell did: a counter at 0 is no cell, so no month of an open
    period; cells of a month summing to 0 do give it a point (as before)."""
    await Feed(units).batch(enrolled(1, country="ID"), cancelled(1, country="TL"))
    await Feed(units).batch(enrolled(2, course="c2"), cancelled(2, course="c2", province="33"))
    for dimension in ("course:c1", "course_province:c1/32"):
        assert await months(units, dimension) == {}
    # c2: a cell in 32 and one in 33 (a seat given up in another province), summing to 0
    assert await months(units, "course:c2") == {"2026-05": 0}
    assert await months(units, "course_province:c2/33") == {"2026-05": -1}
    every = await points(units, "participants.enrolled", by="dimension", dimension="course")
    assert every == {}


async def months(units: Units[InsightsUnit], dimension: str) -> dict[str, int | float]:
    """The months with cells (an open period: no fiscal year)."""
    return await points(units, "participants.enrolled", dimension=dimension, fiscal_year=None)
