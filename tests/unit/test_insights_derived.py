"""``course`` and ``course_province`` of participants.enrolled are no longer stored (their
cells held sums of the ``course_country`` cells): every read answers them as before."""

from __future__ import annotations

from typing import Any

import pytest

from ikmkit.store import Range
from ikmkit.unit_of_work import Units
from services.insights.store import COUNTS, InsightsUnit
from tests.support.insights_feed import Feed, enrolled, insights_units, points, total

units = pytest.fixture(insights_units, name="units")

C1 = {"course_province:c1/-": 1, "course_province:c1/32": 2, "course_province:c1/33": 1}
C2 = {"course_province:c2/32": 1}
SLASHED = {"course_province:K/1/32": 1}


async def enroll(units: Units[InsightsUnit]) -> None:
    await Feed(units).batch(
        enrolled(1),
        enrolled(2, kind="diklat_3in1"),
        enrolled(3, province="33", country="TL"),
        enrolled(4, province=None),
        enrolled(5, course="c2"),
        enrolled(6, course="K/1"),
    )


async def by_dimension(units: Units[InsightsUnit], dimension: str | None, **more: Any) -> Any:
    return await points(units, "participants.enrolled", by="dimension", dimension=dimension, **more)


async def test_enrollments_write_no_course_or_course_province_cell(
    units: Units[InsightsUnit],
) -> None:
    await enroll(units)
    async with units.open() as uow:
        stored = await uow.tx.find(COUNTS, {"dimension": Range(gte="course_province:")})
        courses = await uow.tx.find(COUNTS, {"dimension": Range(gte="course:", lt="course;")})
    assert [d["dimension"] for d in stored.items] == []
    # webinars.participants keeps its own: c1 in -, 32, 33; c2; K/1
    assert {d["indicator"] for d in courses.items} == {"webinars.participants"}
    assert len(courses.items) == 5


async def test_course_province_reads_as_if_it_were_stored(units: Units[InsightsUnit]) -> None:
    await enroll(units)
    assert await by_dimension(units, "course_province:c1/") == C1
    assert await by_dimension(units, "course_province:c") == C1 | C2
    assert await by_dimension(units, "course_province") == C1 | C2 | SLASHED
    assert await by_dimension(units, "course_province:K/1/") == SLASHED
    assert await by_dimension(units, "course_province:c1/3") == {
        k: v for k, v in C1.items() if "/3" in k
    }
    every = await by_dimension(units, None)
    assert {k: v for k, v in every.items() if k.startswith("course_province:")} == C1 | C2 | SLASHED
    assert every["course:c1"] == 4 and every["course_country:c1/TL"] == 1
    assert await by_dimension(units, "course_province:c1/", province="32") == {
        "course_province:c1/32": 2
    }


async def test_course_reads_as_if_it_were_stored(units: Units[InsightsUnit]) -> None:
    await enroll(units)
    every = {"course:c1": 4, "course:c2": 1, "course:K/1": 1}
    assert await by_dimension(units, "course") == every
    assert await by_dimension(units, "course:c") == {"course:c1": 4, "course:c2": 1}
    assert await by_dimension(units, "course:K/1") == {"course:K/1": 1}
    assert await by_dimension(units, "course", province="32") == {
        "course:c1": 2, "course:c2": 1, "course:K/1": 1
    }  # fmt: skip
    assert await total(units, "participants.enrolled", dimension="course:c1") == 4
    assert await total(units, "participants.enrolled", dimension="course:K") == 0
    assert await total(units, "participants.enrolled", dimension="course:c1", province="33") == 1
    assert await points(units, "participants.enrolled", by="province", dimension="course:c1") == {
        "-": 1, "32": 2, "33": 1
    }  # fmt: skip
    assert await points(units, "webinars.participants", by="dimension", dimension="course") == {
        "course:c1": 3, "course:c2": 1, "course:K/1": 1
    }  # fmt: skip


async def test_one_course_province_value_by_month_and_place(units: Units[InsightsUnit]) -> None:
    await enroll(units)
    one = {"dimension": "course_province:c1/32"}
    assert await total(units, "participants.enrolled", **one) == 2
    assert await total(units, "participants.enrolled", province="32", **one) == 2
    assert await total(units, "participants.enrolled", province="33", **one) == 0
    assert await total(units, "participants.enrolled", dimension="course_province:c1") == 0
    assert await points(units, "participants.enrolled", by="province", **one) == {"32": 2}
    months = await points(units, "participants.enrolled", by="month", **one)
    assert {k: v for k, v in months.items() if v} == {"2026-05": 2}
