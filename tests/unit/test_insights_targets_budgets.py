"""Fast tests of the insights service: targets and progress, what regional officers may
read, the catalog, budgets per program and province, months in Jakarta time, and requests
breaking several rules (tests/support/insights_feed.py feeds the events)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.insights import TargetSet
from contracts.subsidy import (
    BudgetExhausted,
    SubsidyCancelled,
    SubsidyDisbursed,
)
from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.service.errors import Forbidden, InvalidInput, InvalidInputs
from ikmkit.unit_of_work import Units
from services.insights import consumers, queries
from services.insights.commands import SetTarget
from services.insights.domain.indicators import CATALOG
from services.insights.handlers import targets
from services.insights.store import InsightsUnit
from tests.support.insights_feed import (
    JABAR,
    MACHINES,
    MAY,
    MINISTRY,
    Feed,
    allocated,
    application,
    approved,
    insights_units,
    points,
    registered,
    total,
)
from tests.support.units import recorded_events

units = pytest.fixture(insights_units, name="units")


async def test_targets_are_set_by_the_ministry_and_progress_follows_the_clock(
    units: Units[InsightsUnit],
) -> None:
    feed = Feed(units)
    await feed.batch(*(registered(f"12345678901{n:02d}") for n in range(3)))
    await feed.one(registered("1234567890199", province="33", regency="3374"))
    cmd = SetTarget(indicator="enterprises.registered", fiscal_year=2026, province="32", value=4)
    first = await units.run(targets.set_target, cmd, MINISTRY)
    assert first.target_id == "enterprises.registered|2026|32|-"
    again = await units.run(targets.set_target, cmd.model_copy(update={"value": 6}), MINISTRY)
    assert again.value == 6
    events = await recorded_events(units)
    assert [type(e) for e in events] == [TargetSet, TargetSet]
    assert isinstance(events[-1], TargetSet)
    assert events[-1].value == 6
    assert events[-1].set_by == "officer"

    with pytest.raises(Forbidden):
        await units.run(targets.set_target, cmd, JABAR)
    with pytest.raises(InvalidInput) as refused:
        await units.run(targets.set_target, cmd.model_copy(update={"indicator": "x"}), MINISTRY)
    assert refused.value.rule == "indicator_unknown"
    with pytest.raises(InvalidInput):
        await units.run(targets.set_target, cmd.model_copy(update={"regency": "3374"}), MINISTRY)

    units.clock = fixed_clock(datetime(2026, 7, 2, 5, tzinfo=UTC))  # noon in Jakarta
    listing = await units.read(queries.list_progress, MINISTRY, fiscal_year=2026)
    national, jabar = listing.items
    assert (national.province, national.actual, national.target) == (None, 4, 6)
    assert (jabar.province, jabar.actual, jabar.target, jabar.percent) == ("32", 3, 6, 50.0)
    assert jabar.expected_percent == 50.0  # 2 July, noon WIB: half of 2026 has passed
    assert jabar.on_track is True
    mine = await units.read(queries.list_progress, JABAR, fiscal_year=2026)
    assert [p.province for p in mine.items] == ["32"]

    table = await units.read(
        queries.province_table, MINISTRY, fiscal_year=2026, indicators=["enterprises.registered"]
    )
    rows = {r.province: r for r in table.items}
    assert rows["32"].name == "Jawa Barat"
    assert rows["32"].values == {"enterprises.registered": 3}
    assert rows["32"].progress["enterprises.registered"].target == 6
    assert rows["33"].values == {"enterprises.registered": 1}
    assert rows["33"].progress == {}


async def test_regional_officers_read_only_their_province_and_others_nothing(
    units: Units[InsightsUnit],
) -> None:
    feed = Feed(units)
    await feed.batch(
        registered("1234567890123"), registered("1234567890124", province="33", regency="3374")
    )
    mine = await units.read(queries.indicator_series, "enterprises.registered", JABAR)
    assert (mine.province, mine.total) == ("32", 1)
    with pytest.raises(Forbidden) as refused:
        await units.read(queries.indicator_series, "enterprises.registered", JABAR, province="33")
    assert refused.value.rule == "own_province"
    with pytest.raises(Forbidden):
        await units.read(queries.indicator_series, "enterprises.registered", JABAR, regency="3374")
    in_regency = await units.read(
        queries.indicator_series, "enterprises.registered", MINISTRY, regency="3374"
    )
    assert (in_regency.province, in_regency.total) == ("33", 1)
    table = await units.read(queries.province_table, JABAR, fiscal_year=2026)
    assert [r.province for r in table.items] == ["32"]
    rows = await units.read(queries.export_rows, JABAR, fiscal_year=2026)
    assert {r.province for r in rows} == {"32"}
    for caller in (
        Caller("e", "enterprise", nib="1234567890123"),
        Caller("p", "partner", partner_id="p"),
    ):
        with pytest.raises(Forbidden):
            await units.read(queries.list_indicators, caller)
        with pytest.raises(Forbidden):
            await units.read(queries.list_targets, caller)


async def test_the_catalog_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "insights.md").read_text()
    for indicator in CATALOG:
        assert f"`{indicator.id}`" in doc
        assert indicator.title_id and indicator.title_en and indicator.definition
    assert len({i.id for i in CATALOG}) == len(CATALOG) == 31


async def test_the_consumer_handles_every_event_type_of_its_topics(
    units: Units[InsightsUnit],
) -> None:
    from types import SimpleNamespace

    from contracts.catalog import events_on
    from services.insights.bootstrap import Insights
    from services.insights.handlers.events import TOPICS
    from services.insights.settings import InsightsSettings

    deps = Insights(units=units, settings=InsightsSettings(), clock=units.clock)
    runtime: Any = SimpleNamespace(publisher=None)
    consumer = consumers.build_consumer(deps, runtime)
    assert consumer.topics == sorted(TOPICS)
    for topic in TOPICS:
        for event_type in events_on(topic):
            assert event_type in consumer._handlers, event_type


async def test_budget_allocations_and_budget_use_per_program_and_province(
    units: Units[InsightsUnit],
) -> None:
    feed = Feed(units)
    before_the_year = datetime(2025, 12, 15, tzinfo=UTC)
    await feed.batch(
        allocated("32", 100_000_000),
        allocated("33", 50_000_000),
        allocated(None, 50_000_000),
        allocated("32", 40_000_000, program="TKDN 2026", at=before_the_year),
        approved("a1", 30_000_000),
        approved("a2", 10_000_000),
        application(
            SubsidyDisbursed,
            "a1",
            rebate_rupiah=30_000_000,
            budget_id=f"{MACHINES}:32",
            payment_reference="SP2D-1",
            disbursed_by="x",
            disbursed_at=MAY,
        ),
        application(
            SubsidyCancelled,
            "a2",
            reason="withdrawn",
            previous_status="approved",
            released_rupiah=10_000_000,
            budget_id=f"{MACHINES}:32",
            cancelled_by="x",
            cancelled_at=MAY,
        ),
        BudgetExhausted(
            budget_id=f"{MACHINES}:33",
            program_id=MACHINES,
            program_kind="machine_restructuring",
            program_name=MACHINES,
            fiscal_year=2026,
            province="33",
            pool="province",
            allocated_rupiah=50_000_000,
            reserved_rupiah=0,
            disbursed_rupiah=0,
            remaining_rupiah=50_000_000,
            requested_rupiah=60_000_000,
            application_id="a3",
            exhausted_at=MAY,
        ),
    )
    # allocated: per province, the reserve nationally only, in the program's fiscal year
    assert await total(units, "subsidy.allocated_rupiah") == 240_000_000
    assert await points(units, "subsidy.allocated_rupiah", by="province") == {
        "-": 50_000_000,
        "32": 140_000_000,
        "33": 50_000_000,
    }
    assert await total(units, "subsidy.allocated_rupiah", dimension="program:TKDN 2026") == (
        40_000_000
    )
    assert await total(units, "subsidy.allocated_rupiah", fiscal_year=2025) == 0
    assert await points(units, "subsidy.allocated_rupiah", start="2026-01", end="2026-03") == {
        "2026-01": 40_000_000,
        "2026-02": 0,
        "2026-03": 200_000_000,
    }
    # budget use: reserved (paid stays counted, a release does not) / allocated x 100
    assert await total(units, "subsidy.reserved_rupiah") == 30_000_000
    use = await units.read(
        queries.indicator_series, "subsidy.budget_use", MINISTRY, fiscal_year=2026
    )
    assert (use.unit, use.total) == ("percent", 12.5)  # 30 of 240 million
    assert await total(units, "subsidy.budget_use", province="32") == 21.4  # 30 of 140
    machines_32 = {"province": "32", "dimension": f"program:{MACHINES}"}
    assert await total(units, "subsidy.budget_use", **machines_32) == 30.0
    assert await points(units, "subsidy.budget_use", by="province") == {"32": 21.4, "33": 0.0}
    assert await points(units, "subsidy.budget_use", by="dimension") == {
        f"program:{MACHINES}": 15.0,  # 30 of 200 million
        "program:TKDN 2026": 0.0,
    }
    monthly = await points(units, "subsidy.budget_use")
    assert len(monthly) == 12
    assert (monthly["2026-01"], monthly["2026-04"], monthly["2026-05"], monthly["2026-12"]) == (
        0.0,
        0.0,
        12.5,
        12.5,
    )
    jabar = await units.read(
        queries.indicator_series, "subsidy.budget_use", JABAR, fiscal_year=2026
    )
    assert (jabar.province, jabar.total) == ("32", 21.4)
    table = await units.read(
        queries.province_table,
        MINISTRY,
        fiscal_year=2026,
        indicators=["subsidy.allocated_rupiah", "subsidy.budget_use"],
    )
    rows = {row.province: row.values for row in table.items}
    assert rows["32"] == {"subsidy.allocated_rupiah": 140_000_000, "subsidy.budget_use": 21.4}
    assert rows["11"] == {"subsidy.allocated_rupiah": 0, "subsidy.budget_use": 0.0}
    # budgets have no regency; a ratio takes no target (its parts do)
    with pytest.raises(InvalidInput) as no_regency:
        await total(units, "subsidy.budget_use", regency="3273")
    assert no_regency.value.rule == "no_regency"
    with pytest.raises(InvalidInput):
        await points(units, "subsidy.allocated_rupiah", by="regency")
    target = SetTarget(indicator="subsidy.budget_use", fiscal_year=2026, province="32", value=80)
    with pytest.raises(InvalidInput) as refused:
        await units.run(targets.set_target, target, MINISTRY)
    assert refused.value.rule == "indicator_not_targetable"


async def test_months_and_fiscal_years_are_the_ministrys_jakarta_time(
    units: Units[InsightsUnit],
) -> None:
    # 20:00 UTC on 31 January is 03:00 WIB on 1 February; 18:00 UTC on 31 December 2025 is
    # already 2026 in Jakarta: officers count by the dates they live by.
    feed = Feed(units)
    await feed.batch(
        registered("1234567890131", at=datetime(2026, 1, 31, 20, tzinfo=UTC)),
        registered("1234567890132", at=datetime(2025, 12, 31, 18, tzinfo=UTC)),
    )
    months = await points(units, "enterprises.registered", by="month")
    assert (months["2026-01"], months["2026-02"], sum(months.values())) == (1, 1, 2)
    assert await total(units, "enterprises.registered", fiscal_year=2025) == 0


async def test_a_target_breaking_several_rules_names_each(units: Units[InsightsUnit]) -> None:
    cmd = SetTarget(indicator="x", fiscal_year=2026, province="32", regency="3374", value=4)
    with pytest.raises(InvalidInputs) as refused:
        await units.run(targets.set_target, cmd, MINISTRY)
    assert {(v.field, v.rule) for v in refused.value.violations} == {
        ("indicator", "indicator_unknown"),
        ("regency", "regency_province"),
    }


async def test_a_series_query_breaking_several_rules_names_each(
    units: Units[InsightsUnit],
) -> None:
    with pytest.raises(InvalidInputs) as refused:
        await total(units, "subsidy.allocated_rupiah", province="32", regency="3374")
    assert {(v.field, v.rule) for v in refused.value.violations} == {
        ("regency", "regency_province"),
        ("regency", "no_regency"),
    }
