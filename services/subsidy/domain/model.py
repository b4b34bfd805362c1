"""The ``Application`` aggregate: an enterprise's request for a rebate on its invoice lines,
from submission to payment (its programs and budgets are in ``programs``).

Every change of an application's status is a method here returning ``Changed(new state,
events)``: the state machine and the events it publishes live together.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from contracts.subsidy import (
    ApplicationStatus,
    ProgramKind,
    SubsidyApplied,
    SubsidyApproved,
    SubsidyCancelled,
    SubsidyDisbursed,
    SubsidyOnHold,
    SubsidyRejected,
    SubsidyResumed,
    SubsidyReviewStarted,
)
from contracts.values import KbliText, NibText, ProvinceText, RegencyText
from ikmkit.service.errors import Conflict, Violations
from ikmkit.service.limits import StrictRupiah
from ikmkit.store.repository import Versioned
from ikmkit.unit_of_work import Changed
from services.subsidy.domain import rules
from services.subsidy.domain.programs import FROZEN, Program, Year
from services.subsidy.domain.rules import Applicant, LineKind, Refusal, Reservation


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


class InvoiceLine(BaseModel):
    """A machine on the supplier's invoice, or a TKDN certification fee."""

    # A request's part too: a field it does not define is refused (ikmkit/service/command.py)
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: LineKind
    description: str = Field(min_length=1, max_length=200)
    supplier: str = Field(min_length=1, max_length=200)
    price_rupiah: StrictRupiah
    locally_made: bool = False


class Rejection(BaseModel):
    model_config = FROZEN

    rule: str
    reason: str


_ABOUT = (  # the fields every event of an application repeats (with its id)
    "program_id", "program_kind", "program_name", "fiscal_year",
    "nib", "enterprise_name", "province", "regency", "directorate",
)  # fmt: skip


class Application(Versioned):
    model_config = FROZEN

    id: str
    program_id: str
    program_kind: ProgramKind
    program_name: str
    fiscal_year: Year
    nib: NibText
    enterprise_name: str
    province: ProvinceText
    regency: RegencyText
    directorate: str
    kbli: KbliText
    lines: list[InvoiceLine]
    eligible_cost_rupiah: int
    requested_rebate_rupiah: int
    rebate_rupiah: int = 0  # reserved (approved) or paid (disbursed); 0 otherwise
    budget_id: str | None = None
    status: ApplicationStatus = "submitted"
    status_before_hold: ApplicationStatus | None = None
    rejection: Rejection | None = None
    payment_reference: str | None = None
    submitted_by: str
    submitted_at: datetime
    reviewer: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    closed_at: datetime | None = None

    @classmethod
    def submit(
        cls,
        program: Program,
        enterprise: Applicant | None,
        lines: Sequence[InvoiceLine],
        committed_rupiah: int,
        by: str,
        now: datetime,
    ) -> Changed[Application]:
        """A new application, if the program is open and the enterprise eligible."""
        found = Violations()
        applicant = found.check(rules.check_application, program, enterprise, now)
        cost = found.check(rules.eligible_cost, lines, program)
        found.check(rules.check_enterprise_cap, program, committed_rupiah)
        found.raise_all()
        assert applicant is not None and cost is not None
        enterprise = applicant
        app = cls(
            id=new_id("app"),
            program_id=program.id,
            program_kind=program.kind,
            program_name=program.name,
            fiscal_year=program.fiscal_year,
            nib=enterprise.nib,
            enterprise_name=enterprise.name,
            province=enterprise.province,
            regency=enterprise.regency,
            directorate=enterprise.directorate,
            kbli=enterprise.kbli,
            lines=list(lines),
            eligible_cost_rupiah=cost,
            requested_rebate_rupiah=rules.rebate_for(cost, program),
            submitted_by=by,
            submitted_at=now,
        )
        return Changed(app, (app._applied(),))

    def _about(self) -> dict[str, Any]:
        """What every event of the application says about it."""
        return {"application_id": self.id, **{name: getattr(self, name) for name in _ABOUT}}

    def _applied(self) -> SubsidyApplied:
        return SubsidyApplied(
            **self._about(),
            kbli=self.kbli,
            line_count=len(self.lines),
            eligible_cost_rupiah=self.eligible_cost_rupiah,
            requested_rebate_rupiah=self.requested_rebate_rupiah,
            applied_by=self.submitted_by,
            applied_at=self.submitted_at,
        )

    def _becomes(self, **changes: Any) -> Application:
        return self.model_copy(update=changes)

    @property
    def reserved_rupiah(self) -> int:
        """What this application holds of its budget (and of the enterprise's cap)."""
        return self.rebate_rupiah if self.budget_id is not None else 0

    def start_review(self, reviewer: str, now: datetime) -> Changed[Application]:
        rules.require_status(self, ("submitted",), "review")
        started = SubsidyReviewStarted(**self._about(), reviewer=reviewer, review_started_at=now)
        return Changed(self._becomes(status="under_review", reviewer=reviewer), (started,))

    def approve(self, reservation: Reservation, by: str, now: datetime) -> Changed[Application]:
        rules.require_status(self, rules.DECIDABLE_STATUSES, "approve")
        budget = reservation.budget
        approved = self._becomes(
            status="approved",
            rebate_rupiah=reservation.rebate_rupiah,
            budget_id=budget.id,
            decided_by=by,
            decided_at=now,
        )
        event = SubsidyApproved(
            **approved._about(),
            eligible_cost_rupiah=approved.eligible_cost_rupiah,
            rebate_rupiah=approved.rebate_rupiah,
            budget_id=budget.id,
            budget_pool=budget.pool,
            approved_by=by,
            approved_at=now,
        )
        return Changed(approved, (event,))

    def reject(self, reason: str, by: str, now: datetime) -> Changed[Application]:
        """A reviewer's decision."""
        return self._rejected(Rejection(rule="reviewer_decision", reason=reason), by, now)

    def refuse(self, refusal: Refusal, by: str, now: datetime) -> Changed[Application]:
        """Rejected at approval: the budget or the enterprise's cap cannot cover it."""
        return self._rejected(Rejection(rule=refusal.rule, reason=refusal.reason), by, now)

    def _rejected(self, rejection: Rejection, by: str, now: datetime) -> Changed[Application]:
        rules.require_status(self, rules.DECIDABLE_STATUSES, "reject")
        rejected = self._becomes(
            status="rejected", rejection=rejection, decided_by=by, decided_at=now, closed_at=now
        )
        event = SubsidyRejected(
            **rejected._about(),
            reason=rejection.reason,
            rule=rejection.rule,
            requested_rebate_rupiah=rejected.requested_rebate_rupiah,
            rejected_by=by,
            rejected_at=now,
        )
        return Changed(rejected, (event,))

    def paid_with(self, payment_reference: str) -> bool:
        """Already disbursed with this reference: repeating the payment changes nothing."""
        return self.status == "disbursed" and self.payment_reference == payment_reference

    def disburse(self, payment_reference: str, by: str, now: datetime) -> Changed[Application]:
        if self.status == "disbursed":
            raise Conflict(
                f"already disbursed with payment reference {self.payment_reference}",
                field="payment_reference",
                rule="already_disbursed",
            )
        rules.require_status(self, ("approved",), "disburse")
        assert self.budget_id is not None
        paid = self._becomes(status="disbursed", payment_reference=payment_reference, closed_at=now)
        event = SubsidyDisbursed(
            **paid._about(),
            rebate_rupiah=paid.rebate_rupiah,
            budget_id=self.budget_id,
            payment_reference=payment_reference,
            disbursed_by=by,
            disbursed_at=now,
        )
        return Changed(paid, (event,))

    def cancel(self, reason: str, by: str, now: datetime) -> Changed[Application]:
        """Withdrawn before payment; the reservation (``reserved_rupiah``) goes back."""
        rules.require_status(self, rules.CANCELLABLE_STATUSES, "cancel")
        released = self.reserved_rupiah
        cancelled = self._becomes(
            status="cancelled", rebate_rupiah=0, closed_at=now, status_before_hold=None
        )
        event = SubsidyCancelled(
            **cancelled._about(),
            reason=reason,
            previous_status=self.status,
            released_rupiah=released,
            budget_id=self.budget_id if released else None,
            cancelled_by=by,
            cancelled_at=now,
        )
        return Changed(cancelled, (event,))

    def hold(self, suspension_reason: str, at: datetime) -> Changed[Application]:
        """The enterprise was suspended: the application waits, its reservation kept."""
        rules.require_status(self, rules.OPEN_STATUSES, "hold")
        held = self._becomes(status="on_hold", status_before_hold=self.status)
        event = SubsidyOnHold(
            **held._about(),
            reason=f"enterprise suspended: {suspension_reason}",
            previous_status=self.status,
            held_at=at,
        )
        return Changed(held, (event,))

    def resume(self, at: datetime) -> Changed[Application]:
        """The enterprise was reinstated: back to where the application was."""
        rules.require_status(self, ("on_hold",), "resume")
        status = self.status_before_hold or "submitted"
        resumed = self._becomes(status=status, status_before_hold=None)
        return Changed(resumed, (SubsidyResumed(**resumed._about(), status=status, resumed_at=at),))
