"""How the programs' events count: training (courses, participants, Diklat 3in1, mentors),
subsidy (applications, approvals, rupiah, budgets allocated) and notify (deliveries). These
events carry all they need, so no replica is involved; event types not named here count for
nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contracts.notify import NotificationDead, NotificationDelivered
from contracts.subsidy import (
    BudgetAllocated,
    SubsidyApplied,
    SubsidyApproved,
    SubsidyCancelled,
    SubsidyDisbursed,
)
from contracts.training import (
    CertificateIssued,
    CourseScheduled,
    EnrollmentCancelled,
    MentorAssigned,
    MentorAssignmentEnded,
    ParticipantEnrolled,
    PlacementRecorded,
    TrainingCompleted,
)
from services.insights.domain.tally import REPORTING_TIME, Tally, reporting_date

DIKLAT = "diklat_3in1"
WEBINAR = "webinar"
DIKLAT_STEP: dict[type[Any], str] = {
    TrainingCompleted: "diklat3in1.trained",
    CertificateIssued: "diklat3in1.certified",
    PlacementRecorded: "diklat3in1.placed",
}


def count_course_event(event: Any, region: str | None, tally: Tally) -> None:
    if isinstance(event, CourseScheduled):
        where = (event.start_date, event.province)
        tally.add("courses.scheduled", *where, dimensions={"kind": event.kind})
        if event.kind == WEBINAR:
            tally.add("webinars.held", *where)
    elif isinstance(event, ParticipantEnrolled):
        _participants(event, event.enrolled_at, 1, tally)
    elif isinstance(event, EnrollmentCancelled) and not event.was_waitlisted:
        _participants(event, event.cancelled_at, -1, tally)
    elif type(event) in DIKLAT_STEP and event.course_kind == DIKLAT:
        tally.add(DIKLAT_STEP[type(event)], _time(event), event.province or region)


def _time(event: Any) -> Any:
    for name in ("completed_at", "issued_at", "recorded_at"):
        if hasattr(event, name):
            return getattr(event, name)
    raise ValueError(type(event).__name__)


def _participants(event: Any, at: Any, amount: int, tally: Tally) -> None:
    # course and course_province are not written: their cells would hold sums of the
    # course_country cells (services/insights/derived.py reads them from those).
    dims = {
        "course_kind": event.course_kind,
        "country": event.country,
        "course_country": f"{event.course_id}/{event.country}",
        "course_participant_kind": f"{event.course_id}/{event.participant_kind}",
    }
    tally.add("participants.enrolled", at, event.province, amount=amount, dimensions=dims)
    if event.course_kind == WEBINAR:
        dims = {"course": event.course_id}
        tally.add("webinars.participants", at, event.province, amount=amount, dimensions=dims)


def count_mentor_event(event: Any, region: str | None, tally: Tally) -> None:
    province = getattr(event, "province", None) or region
    if isinstance(event, MentorAssigned):
        tally.add("mentoring.active", event.assigned_at, province)
    elif isinstance(event, MentorAssignmentEnded):
        tally.add("mentoring.active", event.ended_at, province, amount=-1)
        tally.add("mentoring.ended", event.ended_at, province, dimensions={"reason": event.reason})


def count_application_event(event: Any, region: str | None, tally: Tally) -> None:
    if not isinstance(
        event, SubsidyApplied | SubsidyApproved | SubsidyDisbursed | SubsidyCancelled
    ):
        return
    where = (event.province, event.regency)
    dims = {"program": event.program_name}
    if isinstance(event, SubsidyApplied):
        tally.add("subsidy.applications", event.applied_at, *where, dimensions=dims)
    elif isinstance(event, SubsidyApproved):
        at = event.approved_at
        tally.add("subsidy.approvals", at, *where, dimensions=dims)
        tally.add(
            "subsidy.reserved_rupiah", at, *where, amount=event.rebate_rupiah, dimensions=dims
        )
    elif isinstance(event, SubsidyDisbursed):
        at, amount = event.disbursed_at, event.rebate_rupiah
        tally.add("subsidy.disbursed_rupiah", at, *where, amount=amount, dimensions=dims)
    else:
        at, amount = event.cancelled_at, -event.released_rupiah
        tally.add("subsidy.reserved_rupiah", at, *where, amount=amount, dimensions=dims)


def count_budget_event(event: Any, region: str | None, tally: Tally) -> None:
    """A budget's allocation, in its province (none: the national reserve), by program name.
    (``BudgetExhausted`` counts for nothing: what is reserved comes from the approvals.)"""
    if isinstance(event, BudgetAllocated):
        tally.add(
            "subsidy.allocated_rupiah",
            allocation_month(event.allocated_at, event.fiscal_year),
            event.province,
            amount=event.allocated_rupiah,
            dimensions={"program": event.program_name},
        )


def allocation_month(at: datetime, fiscal_year: int) -> datetime:
    """When an allocation counts: its time, moved into the program's fiscal year if it lies
    outside it (a program created in December for the next year counts in that January), so
    a fiscal year's allocations and budget use are its programs'. Years are Jakarta's, as
    the tally counts them."""
    year = reporting_date(at).year
    if year < fiscal_year:
        return datetime(fiscal_year, 1, 1, 12, tzinfo=REPORTING_TIME)
    if year > fiscal_year:
        return datetime(fiscal_year, 12, 31, 12, tzinfo=REPORTING_TIME)
    return at


def count_delivery_event(event: Any, region: str | None, tally: Tally) -> None:
    if isinstance(event, NotificationDelivered):
        dims = {"channel": event.channel}
        tally.add("notifications.delivered", event.delivered_at, region, dimensions=dims)
    elif isinstance(event, NotificationDead):
        tally.add(
            "notifications.dead", event.dead_at, region, dimensions={"channel": event.channel}
        )
