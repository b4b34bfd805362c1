"""The insights handler scenarios (tests/unit/test_insights_handlers.py and
test_insights_targets_budgets.py) and the derived
dimensions of participants.enrolled (tests/unit/test_insights_derived.py) on every store
kind: the projections use group sums, ranges, bulk reads and deletes, which each adapter must
answer alike (SQLite and a MongoDB-wire server). And a store written before (its ``course``
and ``course_province`` cells stored) dropping them when it opens, its answers unchanged."""

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
from tests.support.insights_feed import NOW
from tests.unit import test_insights_derived as derived
from tests.unit import test_insights_handlers as scenarios
from tests.unit import test_insights_targets_budgets as targets

SPECS = [*COLLECTIONS, *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS]


def units_of(store: Store) -> Units[InsightsUnit]:
    return Units(store, Outbox("urn:ikm:test"), InsightsUnit, clock=fixed_clock(NOW))


@pytest.fixture
async def units(fresh_store: Store) -> AsyncIterator[Units[InsightsUnit]]:
    await fresh_store.open(SPECS)
    yield units_of(fresh_store)


SCENARIOS: list[Callable[[Units[InsightsUnit]], Awaitable[Any]]] = [
    scenarios.test_enterprises_count_by_dimension_and_move_between_stocks,
    scenarios.test_link_and_match_counts_distinct_schools_and_companies_in_any_order,
    scenarios.test_programs_count_participants_subsidies_mentoring_and_notifications,
    targets.test_targets_are_set_by_the_ministry_and_progress_follows_the_clock,
    scenarios.test_a_stock_carries_over_fiscal_years_and_reads_at_the_end_of_the_period,
    scenarios.test_cells_that_return_to_zero_are_removed,
    derived.test_enrollments_write_no_course_or_course_province_cell,
    derived.test_course_province_reads_as_if_it_were_stored,
    derived.test_course_reads_as_if_it_were_stored,
    derived.test_one_course_province_value_by_month_and_place,
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
    await derived.enroll(units)
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
    assert await derived.by_dimension(units, "course_province") == (
        derived.C1 | derived.C2 | derived.SLASHED
    )
    assert await derived.by_dimension(units, "course:c") == {"course:c1": 4, "course:c2": 1}
