"""The insights handler scenarios (tests/unit/test_insights_handlers.py) on every store kind:
the projections use group sums, ranges, bulk reads and deletes, which each adapter must
answer alike (SQLite and a MongoDB-wire server)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from ikmkit.clock import fixed_clock
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.store import Store
from ikmkit.unit_of_work import Units
from services.insights.store import COLLECTIONS, InsightsUnit
from tests.unit import test_insights_handlers as scenarios


@pytest.fixture
async def units(fresh_store: Store) -> AsyncIterator[Units[InsightsUnit]]:
    await fresh_store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS, *INBOX_COLLECTIONS])
    yield Units(fresh_store, Outbox("urn:ikm:test"), InsightsUnit, clock=fixed_clock(scenarios.NOW))


SCENARIOS: list[Callable[[Units[InsightsUnit]], Awaitable[Any]]] = [
    scenarios.test_enterprises_count_by_dimension_and_move_between_stocks,
    scenarios.test_link_and_match_counts_distinct_schools_and_companies_in_any_order,
    scenarios.test_programs_count_participants_subsidies_mentoring_and_notifications,
    scenarios.test_targets_are_set_by_the_ministry_and_progress_follows_the_clock,
    scenarios.test_a_stock_carries_over_fiscal_years_and_reads_at_the_end_of_the_period,
    scenarios.test_cells_that_return_to_zero_are_removed,
]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__.removeprefix("test_"))
async def test_scenario_on_every_store(
    scenario: Callable[[Units[InsightsUnit]], Awaitable[Any]], units: Units[InsightsUnit]
) -> None:
    await scenario(units)
