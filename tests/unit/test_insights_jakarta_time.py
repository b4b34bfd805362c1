"""Every figure counts months and fiscal years by one clock, Jakarta time (WIB): the
indicators, the distinct link-and-match members, budget allocations and the dashboard's
default year (session 23 review: each of the last three used UTC somewhere, so an event in
the first hours of a month or year in Jakarta landed in two different months or years)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ikmkit.unit_of_work import Units
from services.insights.dashboard import router
from services.insights.domain.reports import progress
from services.insights.store import InsightsUnit
from tests.support.insights_feed import (
    Feed,
    allocated,
    insights_units,
    link_and_match,
    partner,
    points,
    total,
)

units = pytest.fixture(insights_units, name="units")

NEW_YEAR_IN_JAKARTA = datetime(2025, 12, 31, 18, tzinfo=UTC)  # 01:00 WIB on 1 January 2026
FEBRUARY_IN_JAKARTA = datetime(2026, 1, 31, 20, tzinfo=UTC)  # 03:00 WIB on 1 February 2026


async def test_link_and_match_members_count_in_the_agreements_month_and_year(
    units: Units[InsightsUnit],
) -> None:
    """An SMK and a company count in the month of their first agreement, as the agreement
    itself does: both in January 2026 for an MoU signed at 01:00 WIB on 1 January."""
    feed = Feed(units)
    await feed.batch(
        partner("smk-1", "vocational_school"),
        partner("co-1", "company"),
        partner("smk-2", "vocational_school"),
        link_and_match("mou-1", "smk-1", "co-1", at=NEW_YEAR_IN_JAKARTA),
        link_and_match("mou-2", "smk-2", at=FEBRUARY_IN_JAKARTA),
    )
    for indicator in ("linkmatch.agreements", "linkmatch.smk", "linkmatch.companies"):
        assert await total(units, indicator, fiscal_year=2025) == 0, indicator
    assert await points(units, "linkmatch.agreements", by="month", fiscal_year=2026) == {
        **{f"2026-{m:02d}": 0 for m in range(1, 13)},
        "2026-01": 1,
        "2026-02": 1,
    }
    smk = await points(units, "linkmatch.smk", by="month", fiscal_year=2026)
    assert (smk["2026-01"], smk["2026-02"], sum(smk.values())) == (1, 1, 2)
    companies = await points(units, "linkmatch.companies", by="month", fiscal_year=2026)
    assert (companies["2026-01"], sum(companies.values())) == (1, 1)


async def test_an_allocation_made_on_new_years_eve_counts_in_its_programs_year(
    units: Units[InsightsUnit],
) -> None:
    """A 2026 program's budget allocated at 03:00 WIB on 1 January 2027 (still 31 December
    in UTC) belongs to fiscal year 2026, in December, as one made later in 2027 would."""
    feed = Feed(units)
    await feed.batch(allocated("32", 100_000_000, at=datetime(2026, 12, 31, 20, tzinfo=UTC)))
    assert await total(units, "subsidy.allocated_rupiah", fiscal_year=2027) == 0
    months = await points(units, "subsidy.allocated_rupiah", by="month", fiscal_year=2026)
    assert months["2026-12"] == 100_000_000


def test_the_dashboard_shows_the_fiscal_year_of_jakarta_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 01:00 WIB on 1 January 2027 the API's default year is 2027 (``/progress``,
    ``/provinces``): the page asks for that year too, not UTC's 2026."""
    monkeypatch.setattr(router, "now", lambda: datetime(2026, 12, 31, 18, tzinfo=UTC))
    assert router.default_fiscal_year() == 2027


def test_on_track_compares_the_figures_not_their_rounded_percentages() -> None:
    """1,000 of 2,001 is 49.98 %, shown as 50.0, at noon WIB on 2 July when exactly half of
    2026 has passed: behind, though both rounded percentages read 50.0."""
    noon_2_july = datetime(2026, 7, 2, 5, tzinfo=UTC)
    behind = progress("enterprises.registered", 2026, "32", None, 1000, 2001, noon_2_july)
    assert (behind.percent, behind.expected_percent, behind.on_track) == (50.0, 50.0, False)
    level = progress("enterprises.registered", 2026, "32", None, 1000, 2000, noon_2_july)
    assert (level.percent, level.on_track) == (50.0, True)
