"""Random webinar enrollments and cancellations (courses with ``/`` and beyond U+FFFF, with
and without a province, several countries, a seat given up under another country or
province than it was taken): the derived ``course`` and ``course_province`` values of
participants.enrolled answer every read as webinars.participants' stored ``course`` cells
do (a webinar's enrollment adds to both: same course, same place, same month), the
stored cells per province standing for ``course_province``."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.base import Event
from contracts.training import EnrollmentCancelled
from ikmkit.service.errors import InvalidInput, InvalidInputs
from ikmkit.unit_of_work import Units
from services.insights.store import InsightsUnit
from tests.support.insights_feed import Feed, enrolled, insights_units, points

units = pytest.fixture(insights_units, name="units")

COURSES = ["c1", "c10", "K/1", "K/1/x", "😀k", "z"]
PROVINCES = [None, "32", "33"]
COUNTRIES = ["ID", "TL", "MY"]
SPANS = [{}, {"start": "2026-03", "end": "2026-08"}, {"start": "2025-11"}]


def random_events(seed: int) -> list[Event]:
    rnd = random.Random(seed)
    found: list[Event] = []
    for n in range(60):
        at = datetime(rnd.choice([2025, 2026]), rnd.randint(1, 12), rnd.randint(1, 28), tzinfo=UTC)
        facts: dict[str, Any] = {
            "course": rnd.choice(COURSES),
            "province": rnd.choice(PROVINCES),
            "country": rnd.choice(COUNTRIES),
        }
        seat = enrolled(n, **facts).model_copy(update={"enrolled_at": at})
        if rnd.random() < 0.7:
            found.append(seat)
            continue
        fields = seat.model_dump(exclude={"start_date", "end_date", "promoted_from_waitlist"})
        del fields["enrolled_at"]
        found.append(
            EnrollmentCancelled(**fields, was_waitlisted=False, cancelled_by="x", cancelled_at=at)
        )
    return found


async def read(units: Units[InsightsUnit], indicator: str, **filters: Any) -> Any:
    """The points, or the rules a query breaks (months outside its fiscal year are refused
    since session 23): derived and stored must answer a query alike either way."""
    try:
        return await points(units, indicator, **filters)
    except InvalidInput as refused:
        found = refused.violations if isinstance(refused, InvalidInputs) else [refused]
        return sorted((v.field, v.rule) for v in found)


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_derived_cells_answer_as_stored_ones(units: Units[InsightsUnit], seed: int) -> None:
    events = random_events(seed)
    for start in range(0, len(events), 7):
        await Feed(units).batch(*events[start : start + 7])
    derived, stored = "participants.enrolled", "webinars.participants"
    for year, span, province in itertools.product([None, 2025, 2026], SPANS, [None, "32"]):
        where = {"fiscal_year": year, "province": province, **span}
        for by, dimension in [("dimension", None), ("dimension", "course"), ("month", "course:c1"),
                              ("province", "course:K/1"), ("dimension", "course:K"),
                              ("month", "course:😀k"), ("dimension", "course:")]:  # fmt: skip
            found = await read(units, derived, by=by, dimension=dimension, **where)
            if by == "dimension" and isinstance(found, dict):
                found = {k: v for k, v in found.items() if k.startswith("course:")}
            assert found == await read(units, stored, by=by, dimension=dimension, **where)
    for course, province in itertools.product(COURSES, ["32", "33"]):
        for year, span in itertools.product([None, 2026], SPANS):
            where = {"fiscal_year": year, **span}
            found = await read(units, derived, dimension=f"course_province:{course}/{province}",
                               **where)  # fmt: skip
            expected = await read(units, stored, dimension=f"course:{course}", province=province,
                                  **where)  # fmt: skip
            assert found == expected, (course, province, where)
