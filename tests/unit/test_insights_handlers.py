"""Fast tests of the insights service: events fed to its consumer handlers over an in-memory
store (tests/support/units.py), then the indicators, targets and progress read back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import pytest

from contracts.base import Event
from contracts.envelope import EnvelopeAttributes
from contracts.insights import TargetSet
from contracts.notify import NotificationDelivered
from contracts.registry import (
    ENTERPRISE_TOPIC,
    EnterpriseClassChanged,
    EnterpriseOnboardedToMarketplace,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseVerified,
    MoUParty,
    MoUSigned,
    MoUTerminated,
    OwnerContact,
    PartnerRegistered,
)
from contracts.subsidy import (
    APPLICATION_TOPIC,
    BudgetAllocated,
    BudgetExhausted,
    SubsidyApplied,
    SubsidyApproved,
    SubsidyCancelled,
    SubsidyDisbursed,
)
from contracts.training import CourseScheduled, MentorAssigned, ParticipantEnrolled
from ikmkit.auth import Caller
from ikmkit.clock import fixed_clock
from ikmkit.messaging.inbox import deduplicated
from ikmkit.messaging.replica import SequenceGap
from ikmkit.service.errors import Forbidden, InvalidInput, InvalidInputs
from ikmkit.unit_of_work import Units
from services.insights import consumers, queries
from services.insights.commands import SetTarget
from services.insights.domain.indicators import CATALOG
from services.insights.handlers import targets
from services.insights.replicas import ENTERPRISES
from services.insights.store import COLLECTIONS, COUNTS, InsightsUnit
from tests.support.units import memory_units, recorded_events

NOW = datetime(2026, 7, 2, 12, tzinfo=UTC)
MARCH = datetime(2026, 3, 10, 9, tzinfo=UTC)
MAY = datetime(2026, 5, 4, 9, tzinfo=UTC)
MINISTRY = Caller("officer", "ministry")
JABAR = Caller("jabar-officer", "regional", province="32")
OWNER = OwnerContact(name="Siti")


def registered(nib: str, *, province: str = "32", regency: str = "3273", **more: Any) -> Event:
    return EnterpriseRegistered(
        nib=nib,
        province=province,
        regency=regency,
        name=f"IKM {nib}",
        kbli="10792",
        directorate="food_furniture_wood",
        size_class="small",
        owner=OWNER,
        registered_at=more.pop("at", MARCH),
        **more,
    )


def partner(partner_id: str, partner_type: str, province: str | None = "32") -> Event:
    return PartnerRegistered(
        partner_id=partner_id,
        name=partner_id,
        partner_type=partner_type,  # type: ignore[arg-type]
        country="ID",
        province=province,
        registered_at=MARCH,
    )


def link_and_match(mou_id: str, *partners: str, at: datetime = MAY) -> Event:
    parties = [MoUParty(partner_id="ministry"), *(MoUParty(partner_id=p) for p in partners)]
    return MoUSigned(
        mou_id=mou_id,
        title=mou_id,
        scope="vocational_link_and_match",
        parties=parties,
        valid_from=date(2026, 1, 1),
        valid_until=date(2028, 1, 1),
        signed_on=at.date(),
        document_ref="doc",
        signed_at=at,
    )


def enrolled(n: int, kind: str = "webinar", course: str = "c1", **more: Any) -> Event:
    return ParticipantEnrolled(
        course_id=course,
        participant_id=f"p{n}",
        participant_name=f"Peserta {n}",
        participant_kind="ikm_owner",
        province=more.pop("province", "32"),
        country=more.pop("country", "ID"),
        course_title="Webinar",
        course_kind=kind,  # type: ignore[arg-type]
        start_date=date(2026, 5, 1),
        end_date=date(2026, 5, 1),
        enrolled_at=MAY,
        **more,
    )


def application(kind: type[Event], app_id: str = "a1", **fields: Any) -> Event:
    common = {
        "application_id": app_id,
        "program_id": "prog-1",
        "program_kind": "machine_restructuring",
        "program_name": "Restrukturisasi Mesin 2026",
        "fiscal_year": 2026,
        "nib": "1234567890123",
        "enterprise_name": "IKM",
        "province": "32",
        "regency": "3273",
        "directorate": "food_furniture_wood",
    }
    return kind(**common, **fields)


class Feed:
    """Events as the consumer gets them: a sequence per aggregate, an id per event."""

    def __init__(self, units: Units[InsightsUnit]) -> None:
        self.units = units
        self.sequences: dict[str, int] = {}

    def meta(self, event: Event, sequence: int | None = None) -> EnvelopeAttributes:
        subject = event.aggregate_id()
        if sequence is None:
            sequence = self.sequences.get(subject, 0) + 1
        self.sequences[subject] = max(sequence, self.sequences.get(subject, 0))
        return EnvelopeAttributes(
            id=str(uuid.uuid4()),
            type=event.ce_type(),
            source="/ikm/test",
            time=NOW,
            subject=subject,
            region=event.region(),
            sequence=sequence,
            hash="0" * 64,
        )

    async def batch(self, *events: Event) -> None:
        items = [(e, self.meta(e)) for e in events]
        async with self.units.open() as uow:
            await consumers.on_batch(items, uow)

    async def one(self, event: Event, meta: EnvelopeAttributes | None = None) -> bool:
        handler = deduplicated(consumers.GROUP, consumers.on_event)
        async with self.units.open() as uow:
            return await handler(event, meta or self.meta(event), uow)


@pytest.fixture
async def units() -> AsyncIterator[Units[InsightsUnit]]:
    async with memory_units(InsightsUnit, COLLECTIONS) as units:
        units.clock = fixed_clock(NOW)
        yield units


async def total(units: Units[InsightsUnit], indicator: str, **filters: Any) -> int | float:
    filters.setdefault("fiscal_year", 2026)
    series = await units.read(queries.indicator_series, indicator, MINISTRY, **filters)
    return series.total


async def points(
    units: Units[InsightsUnit], indicator: str, **filters: Any
) -> dict[str, int | float]:
    filters.setdefault("fiscal_year", 2026)
    series = await units.read(queries.indicator_series, indicator, MINISTRY, **filters)
    return {p.key: p.value for p in series.points}


async def test_enterprises_count_by_dimension_and_move_between_stocks(
    units: Units[InsightsUnit],
) -> None:
    feed = Feed(units)
    nib = "1234567890123"
    await feed.batch(
        registered(nib, campaigns=["#SemuanyaAdaDisini"]),
        registered("1234567890124", province="33", regency="3374"),
        EnterpriseVerified(nib=nib, province="32", verified_by="x", verified_at=MARCH),
    )
    assert await total(units, "enterprises.registered") == 2
    assert await total(units, "enterprises.registered", province="32", regency="3273") == 1
    by_dim = await points(
        units, "enterprises.registered", by="dimension", dimension="kbli_division"
    )
    assert by_dim == {"kbli_division:10": 2}
    assert await points(units, "campaigns.participants", by="dimension") == {
        "campaign:#SemuanyaAdaDisini": 1
    }
    assert await total(units, "enterprises.active") == 1

    await feed.one(
        EnterpriseSuspended(nib=nib, province="32", reason="r", suspended_by="x", suspended_at=MAY)
    )
    assert await total(units, "enterprises.active") == 0
    assert await total(units, "enterprises.suspended") == 1
    monthly = await points(units, "enterprises.active")
    assert (monthly["2026-02"], monthly["2026-03"], monthly["2026-04"], monthly["2026-05"]) == (
        0,
        1,
        1,
        0,
    )
    await feed.batch(
        EnterpriseReinstated(
            nib=nib, province="32", reason="ok", reinstated_by="x", reinstated_at=MAY
        ),
        EnterpriseClassChanged(
            nib=nib, province="32", previous_class="small", new_class="medium", changed_at=MAY
        ),
        EnterpriseOnboardedToMarketplace(
            nib=nib, province="32", platform="Tokopedia", shop_url="https://t", onboarded_at=MAY
        ),
    )
    assert await total(units, "enterprises.active") == 1
    assert await total(units, "enterprises.suspended") == 0
    assert await points(units, "enterprises.active", by="dimension") == {"size_class:medium": 1}
    assert await points(units, "enterprises.class_changes", by="dimension") == {
        "new_class:medium": 1
    }
    assert await points(units, "esmart.onboarded", by="province") == {"32": 1}


async def test_link_and_match_counts_distinct_schools_and_companies_in_any_order(
    units: Units[InsightsUnit],
) -> None:
    feed = Feed(units)
    # the MoUs arrive before the partners are known; one SMK signs two MoUs
    await feed.batch(
        link_and_match("m1", "smk-1", "co-1"), link_and_match("m2", "smk-1", "co-2", at=MARCH)
    )
    assert await total(units, "linkmatch.agreements") == 2
    assert await total(units, "linkmatch.smk") == 0
    await feed.batch(
        partner("smk-1", "vocational_school"),
        partner("co-1", "company"),
        partner("co-2", "company", "33"),
    )
    await feed.one(link_and_match("m3", "smk-1", "co-1"))
    assert await total(units, "linkmatch.smk") == 1
    assert await total(units, "linkmatch.companies") == 2
    assert await points(units, "linkmatch.smk") == {
        f"2026-{m:02d}": int(m == 3) for m in range(1, 13)
    }
    assert await points(units, "linkmatch.companies", by="province") == {"32": 1, "33": 1}
    assert await points(units, "partners.registered", by="dimension") == {
        "partner_type:company": 2,
        "partner_type:vocational_school": 1,
    }
    assert await total(units, "mous.active") == 3
    await feed.one(
        MoUTerminated(
            mou_id="m1",
            scope="vocational_link_and_match",
            parties=[],
            reason="r",
            terminated_by="x",
            terminated_at=MAY,
        )
    )
    assert await total(units, "mous.active") == 2
    assert await points(units, "mous.ended", by="dimension") == {"ended:terminated": 1}


async def test_programs_count_participants_subsidies_mentoring_and_notifications(
    units: Units[InsightsUnit],
) -> None:
    feed = Feed(units)
    await feed.batch(
        CourseScheduled(
            course_id="c1",
            title="Webinar",
            kind="webinar",
            organizer_id="o",
            start_date=date(2026, 5, 1),
            end_date=date(2026, 5, 1),
            province="32",
            capacity=100,
            scheduled_by="x",
            scheduled_at=MARCH,
        ),
        enrolled(1),
        enrolled(2, country="TL", province=None),
        enrolled(3, kind="capacity_building", course="c2"),
        application(
            SubsidyApplied,
            kbli="10792",
            line_count=1,
            eligible_cost_rupiah=100,
            requested_rebate_rupiah=30,
            applied_by="x",
            applied_at=MARCH,
        ),
        application(
            SubsidyApproved,
            eligible_cost_rupiah=100,
            rebate_rupiah=30_000_000,
            budget_id="b",
            budget_pool="province",
            approved_by="x",
            approved_at=MAY,
        ),
        application(
            SubsidyDisbursed,
            rebate_rupiah=30_000_000,
            budget_id="b",
            payment_reference="p",
            disbursed_by="x",
            disbursed_at=MAY,
        ),
        MentorAssigned(
            assignment_id="as1",
            nib="1234567890123",
            province="32",
            partner_id="p",
            mou_id="m",
            mentor_name="M",
            starts_on=date(2026, 5, 1),
            ends_on=date(2027, 1, 1),
            assigned_by="x",
            assigned_at=MAY,
        ),
        NotificationDelivered(
            notification_id="n1",
            source_event_id="e1",
            source_event_type="t",
            recipient="enterprise:1",
            channel="email",
            attempts=1,
            delivered_at=MAY,
        ),
    )
    assert await total(units, "webinars.held") == 1
    assert await total(units, "webinars.participants") == 2
    assert await total(units, "participants.enrolled") == 3
    assert await points(units, "participants.enrolled", by="dimension", dimension="country") == {
        "country:ID": 2,
        "country:TL": 1,
    }
    assert await total(units, "participants.enrolled", dimension="course:c1") == 2
    one_course = {"by": "dimension", "dimension": "course_country:c1/"}
    assert await points(units, "participants.enrolled", **one_course) == {
        "course_country:c1/ID": 1,
        "course_country:c1/TL": 1,
    }
    by_province = {"by": "dimension", "dimension": "course_province:c1/"}
    assert sum((await points(units, "participants.enrolled", **by_province)).values()) == 2
    by_kind = {"by": "dimension", "dimension": "course_participant_kind:c1/"}
    assert await points(units, "participants.enrolled", **by_kind) == {
        "course_participant_kind:c1/ikm_owner": 2
    }
    assert await points(units, "subsidy.reserved_rupiah", by="dimension") == {
        "program:Restrukturisasi Mesin 2026": 30_000_000
    }
    assert await total(units, "subsidy.disbursed_rupiah", province="32") == 30_000_000
    assert await total(units, "subsidy.applications", start="2026-03", end="2026-03") == 1
    assert await total(units, "subsidy.approvals", start="2026-03", end="2026-04") == 0
    assert await total(units, "mentoring.active") == 1
    assert await points(units, "notifications.delivered", by="dimension") == {"channel:email": 1}


async def test_a_redelivered_event_counts_once_and_a_gap_is_refused(
    units: Units[InsightsUnit],
) -> None:
    feed = Feed(units)
    event = registered("1234567890123")
    meta = feed.meta(event)
    assert await feed.one(event, meta) is True
    assert await feed.one(event, meta) is False
    # the same event under another id (a replay of the log) changes nothing either
    assert await feed.one(event, meta.model_copy(update={"id": "other"})) is True
    assert await total(units, "enterprises.registered") == 1
    suspended = EnterpriseSuspended(
        nib="1234567890123", province="32", reason="r", suspended_by="x", suspended_at=MAY
    )
    with pytest.raises(SequenceGap):
        await feed.one(suspended, feed.meta(suspended, sequence=3))


class EnterpriseAudited(Event):
    """An enterprise event type insights does not know (added to the topic later)."""

    TOPIC: ClassVar[str] = ENTERPRISE_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "nib"

    nib: str
    auditor: str


class ReviewStarted(Event):
    TOPIC: ClassVar[str] = APPLICATION_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "application_id"

    application_id: str
    started_at: datetime


async def test_event_types_added_later_advance_replicas_and_count_nothing(
    units: Units[InsightsUnit],
) -> None:
    feed = Feed(units)
    nib = "1234567890123"
    await feed.batch(
        registered(nib),
        EnterpriseAudited(nib=nib, auditor="bpk"),
        ReviewStarted(application_id="a1", started_at=MAY),
    )
    await feed.one(
        EnterpriseVerified(nib=nib, province="32", verified_by="x", verified_at=MAY)
    )  # sequence 3: no gap, the unknown type advanced the replica
    async with units.store.transaction() as tx:
        replica = await ENTERPRISES.get(tx, nib)
    assert replica is not None
    assert (replica.sequence, replica.status, replica.regency) == (3, "active", "3273")
    assert await total(units, "enterprises.active", province="32") == 1


async def test_cells_that_return_to_zero_are_removed(units: Units[InsightsUnit]) -> None:
    feed = Feed(units)
    nib = "1234567890123"
    await feed.batch(
        registered(nib),
        EnterpriseVerified(nib=nib, province="32", verified_by="x", verified_at=MAY),
        EnterpriseSuspended(nib=nib, province="32", reason="r", suspended_by="x", suspended_at=MAY),
    )
    async with units.store.transaction() as tx:
        page = await tx.find(COUNTS, {"indicator": "enterprises.active"}, limit=100)
    assert page.items == []


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


async def test_a_stock_carries_over_fiscal_years_and_reads_at_the_end_of_the_period(
    units: Units[InsightsUnit],
) -> None:
    feed = Feed(units)
    nib = "1234567890123"
    last_year = datetime(2025, 11, 3, tzinfo=UTC)
    await feed.batch(
        registered(nib, at=last_year),
        EnterpriseVerified(nib=nib, province="32", verified_by="x", verified_at=last_year),
        registered("1234567890124", at=last_year),
    )
    await feed.batch(
        EnterpriseVerified(nib="1234567890124", province="32", verified_by="x", verified_at=MARCH),
        EnterpriseSuspended(nib=nib, province="32", reason="r", suspended_by="x", suspended_at=MAY),
    )
    assert await total(units, "enterprises.active", fiscal_year=2025) == 1
    assert await total(units, "enterprises.registered", fiscal_year=2026) == 0
    assert await total(units, "enterprises.active") == 1
    assert await total(units, "enterprises.active", end="2026-04") == 2
    assert await total(units, "enterprises.active", fiscal_year=None) == 1
    monthly = await points(units, "enterprises.active", start="2026-02", end="2026-05")
    assert monthly == {"2026-02": 1, "2026-03": 2, "2026-04": 2, "2026-05": 1}


async def test_partners_and_their_mous_in_one_batch_count_in_either_order(
    units: Units[InsightsUnit],
) -> None:
    feed = Feed(units)
    await feed.batch(partner("smk-1", "vocational_school"), link_and_match("m1", "smk-1"))
    await feed.batch(link_and_match("m2", "smk-2", "co-1"), partner("smk-2", "vocational_school"))
    await feed.batch(partner("co-1", "company"))
    assert await total(units, "linkmatch.smk") == 2
    assert await total(units, "linkmatch.companies") == 1
    assert await total(units, "partners.registered") == 3


MACHINES = "Restrukturisasi Mesin 2026"


def allocated(
    province: str | None, rupiah: int, *, program: str = MACHINES, at: datetime = MARCH
) -> Event:
    return BudgetAllocated(
        budget_id=f"{program}:{province or 'national_reserve'}",
        program_id=program,
        program_kind="machine_restructuring",
        program_name=program,
        fiscal_year=2026,
        province=province,
        pool="province" if province else "national_reserve",
        allocated_rupiah=rupiah,
        allocated_by="officer",
        allocated_at=at,
    )


def approved(app_id: str, rupiah: int, pool: str = "province") -> Event:
    return application(
        SubsidyApproved,
        app_id,
        eligible_cost_rupiah=rupiah * 10 // 3,
        rebate_rupiah=rupiah,
        budget_id=f"{MACHINES}:32",
        budget_pool=pool,
        approved_by="x",
        approved_at=MAY,
    )


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
