"""Fast tests of the insights service: events fed to its consumer handlers over an in-memory
store (tests/support/insights_feed.py), then the indicators read back: stocks and flows of
enterprises, link and match, programs, redelivery and gaps."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import ClassVar

import pytest

from contracts.base import Event
from contracts.notify import NotificationDelivered
from contracts.registry import (
    ENTERPRISE_TOPIC,
    EnterpriseClassChanged,
    EnterpriseOnboardedToMarketplace,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseVerified,
    MoUTerminated,
)
from contracts.subsidy import (
    APPLICATION_TOPIC,
    SubsidyApplied,
    SubsidyApproved,
    SubsidyDisbursed,
)
from contracts.training import CourseScheduled, MentorAssigned
from ikmkit.messaging.replica import SequenceGap
from ikmkit.unit_of_work import Units
from services.insights.replicas import ENTERPRISES
from services.insights.store import COUNTS, InsightsUnit
from tests.support.insights_feed import (
    MARCH,
    MAY,
    Feed,
    application,
    enrolled,
    insights_units,
    link_and_match,
    partner,
    points,
    registered,
    total,
)

units = pytest.fixture(insights_units, name="units")


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
        "campaign:#semuanyaadadisini": 1  # the campaign_key
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
