"""The derived ``course`` values of participants.enrolled answer every dimension filter as
the stored ``course`` cells of webinars.participants do (a webinar's enrollment adds to
both, same course, same place): whatever characters a course id holds (a course's code is
the caller's choice), e.g. one beyond U+FFFF, which sorts after the ``\\uffff`` that bounds
a prefix."""

from __future__ import annotations

import pytest

from ikmkit.unit_of_work import Units
from services.insights.store import InsightsUnit
from tests.unit.test_insights_handlers import Feed, enrolled, points
from tests.unit.test_insights_handlers import units as units  # noqa: PLC0414 (the fixture)

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
