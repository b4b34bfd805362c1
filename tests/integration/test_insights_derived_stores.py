"""The derived dimensions of participants.enrolled (tests/unit/test_insights_derived.py) on
every store kind, and a store written before (its ``course`` and ``course_province`` cells
stored) dropping them when it opens, its answers unchanged."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ikmkit.clock import fixed_clock
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.store import Range, Store
from ikmkit.unit_of_work import Units
from services.insights.store import COLLECTIONS, COUNTS, InsightsUnit
from tests.unit import test_insights_derived as scenarios

SPECS = [*COLLECTIONS, *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS]


def units_of(store: Store) -> Units[InsightsUnit]:
    clock = fixed_clock(scenarios.NOW)
    return Units(store, Outbox("urn:ikm:test"), InsightsUnit, clock=clock)


@pytest.fixture
async def units(fresh_store: Store) -> AsyncIterator[Units[InsightsUnit]]:
    await fresh_store.open(SPECS)
    yield units_of(fresh_store)


SCENARIOS: list[Callable[[Units[InsightsUnit]], Awaitable[Any]]] = [
    scenarios.test_enrollments_write_no_course_or_course_province_cell,
    scenarios.test_course_province_reads_as_if_it_were_stored,
    scenarios.test_course_reads_as_if_it_were_stored,
    scenarios.test_one_course_province_value_by_month_and_place,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__.removeprefix("test_"))
async def test_scenario_on_every_store(
    scenario: Callable[[Units[InsightsUnit]], Awaitable[Any]], units: Units[InsightsUnit]
) -> None:
    await scenario(units)


OLD_CELLS = [  # what enrollments wrote before, May 2026: c1 (- 1, 32 2, 33 1), c2, K/1
    *[("course:c1", p, n) for p, n in (("-", 1), ("32", 2), ("33", 1))],
    ("course:c2", "32", 1),
    ("course:K/1", "32", 1),
    *[(f"course_province:c1/{p}", p, n) for p, n in (("-", 1), ("32", 2), ("33", 1))],
    ("course_province:c2/32", "32", 1),
    ("course_province:K/1/32", "32", 1),
]


async def test_a_store_written_before_drops_the_derived_cells_when_it_opens(
    fresh_store: Store,
) -> None:
    await fresh_store.open(SPECS)
    units = units_of(fresh_store)
    await scenarios.enroll(units)
    rows = [("participants.enrolled", 2026, 5, p, "-", d, n) for d, p, n in OLD_CELLS]
    async with fresh_store.transaction() as tx:
        await tx.add_count_rows(COUNTS, rows)
    await fresh_store.close()
    await fresh_store.open(SPECS)
    async with fresh_store.transaction() as tx:
        courses = await tx.find(COUNTS, {"dimension": Range(gte="course:", lt="course;")})
        by_province = {"dimension": Range(gte="course_province:", lt="course_province;")}
        assert await tx.count(COUNTS, by_province) == 0
    assert {d["indicator"] for d in courses.items} == {"webinars.participants"}
    assert await scenarios.by_dimension(units, "course_province") == (
        scenarios.C1 | scenarios.C2 | scenarios.SLASHED
    )
    assert await scenarios.by_dimension(units, "course:c") == {"course:c1": 4, "course:c2": 1}
