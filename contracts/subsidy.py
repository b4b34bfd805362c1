"""Events published by the subsidy service (machine-restructuring rebate, free TKDN certification).

Topics:
- ``ikm.subsidy.application.v1``: key application id; ``ce_region`` = the enterprise's province.
  ``SubsidyApplied`` → (``SubsidyReviewStarted``) → ``SubsidyApproved`` | ``SubsidyRejected``
  → ``SubsidyDisbursed`` | ``SubsidyCancelled``; ``SubsidyOnHold`` / ``SubsidyResumed`` while
  the enterprise is suspended.
- ``ikm.subsidy.budget.v1``: key budget id (``<program_id>:<province>`` or
  ``<program_id>:national_reserve``); ``ce_region`` = the province (none for the reserve).
  ``BudgetAllocated`` (once per budget, when its program is created) → ``BudgetExhausted``
  (each time an approval finds it cannot cover a rebate, until money comes back).

Money is integer rupiah. ``rebate_rupiah`` is the ministry's share of the eligible cost
(30% of a machine's price, 100% of a TKDN certification fee), rounded down to the rupiah
and capped; see docs/subsidy.md. Every application event carries what a notifier needs to
tell the owner and the regional office without a lookup: NIB, enterprise and program names,
province, amounts. Owner contact details are not repeated here (they stay in the registry's
events, personal data under UU PDP).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from contracts.base import Event
from contracts.values import Kbli, Nib, ProvinceCode, RegencyCode

APPLICATION_TOPIC = "ikm.subsidy.application.v1"
BUDGET_TOPIC = "ikm.subsidy.budget.v1"

ProgramKind = Literal["machine_restructuring", "tkdn_certification"]
ApplicationStatus = Literal[
    "submitted", "under_review", "approved", "rejected", "disbursed", "cancelled", "on_hold"
]
BudgetPool = Literal["province", "national_reserve"]
NATIONAL_RESERVE = "national_reserve"


class _ApplicationEvent(Event):
    TOPIC: ClassVar[str] = APPLICATION_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "application_id"
    REGION_FIELD: ClassVar[str | None] = "province"

    application_id: str
    program_id: str
    program_kind: ProgramKind
    program_name: str
    fiscal_year: int
    nib: Nib
    enterprise_name: str
    province: ProvinceCode
    regency: RegencyCode
    directorate: str


class SubsidyApplied(_ApplicationEvent):
    """An enterprise submitted an application (status ``submitted``)."""

    kbli: Kbli
    line_count: int
    eligible_cost_rupiah: int
    requested_rebate_rupiah: int
    applied_by: str
    applied_at: datetime


class SubsidyReviewStarted(_ApplicationEvent):
    """A reviewer took the application up (status ``under_review``): who, and when."""

    reviewer: str
    review_started_at: datetime


class SubsidyApproved(_ApplicationEvent):
    """Approved; ``rebate_rupiah`` is now reserved in the ``budget_id`` budget."""

    eligible_cost_rupiah: int
    rebate_rupiah: int
    budget_id: str
    budget_pool: BudgetPool
    approved_by: str
    approved_at: datetime


class SubsidyRejected(_ApplicationEvent):
    """Rejected by a reviewer or because the budget could not cover it."""

    reason: str
    rule: str
    requested_rebate_rupiah: int
    rejected_by: str
    rejected_at: datetime


class SubsidyDisbursed(_ApplicationEvent):
    """The reserved rebate was paid out (reservation turned into disbursement)."""

    rebate_rupiah: int
    budget_id: str
    payment_reference: str
    disbursed_by: str
    disbursed_at: datetime


class SubsidyCancelled(_ApplicationEvent):
    """Cancelled before disbursement; ``released_rupiah`` went back to the budget (0 if none)."""

    reason: str
    previous_status: ApplicationStatus
    released_rupiah: int
    budget_id: str | None = None
    cancelled_by: str
    cancelled_at: datetime


class SubsidyOnHold(_ApplicationEvent):
    """The enterprise was suspended; its open application waits (any reservation is kept)."""

    reason: str
    previous_status: ApplicationStatus
    held_at: datetime


class SubsidyResumed(_ApplicationEvent):
    """The enterprise was reinstated; the application returns to its status before the hold."""

    status: ApplicationStatus
    resumed_at: datetime


class BudgetAllocated(Event):
    """A program was created: one of its budgets (a province's allocation, or the national
    reserve with ``province`` None) now holds ``allocated_rupiah``. One per budget, its
    stream's first event; what is reserved and disbursed from it follows from the
    application events that name the ``budget_id``."""

    TOPIC: ClassVar[str] = BUDGET_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "budget_id"
    REGION_FIELD: ClassVar[str | None] = "province"

    budget_id: str
    program_id: str
    program_kind: ProgramKind
    program_name: str
    fiscal_year: int
    province: ProvinceCode | None = None
    pool: BudgetPool
    allocated_rupiah: int
    allocated_by: str
    allocated_at: datetime


class BudgetExhausted(Event):
    """An approval needed more than a budget had left: the budget can cover no more of it."""

    TOPIC: ClassVar[str] = BUDGET_TOPIC
    AGGREGATE_FIELD: ClassVar[str] = "budget_id"
    REGION_FIELD: ClassVar[str | None] = "province"

    budget_id: str
    program_id: str
    program_kind: ProgramKind
    program_name: str
    fiscal_year: int
    province: str | None = None  # not ProvinceCode: budgets were keyed by any two digits
    pool: BudgetPool
    allocated_rupiah: int
    reserved_rupiah: int
    disbursed_rupiah: int
    remaining_rupiah: int
    requested_rupiah: int
    application_id: str
    exhausted_at: datetime
