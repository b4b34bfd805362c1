"""Pure rules: what a program must satisfy, who may apply to it, what an invoice is worth,
and where an approved rebate is reserved.

Money is integer rupiah. The rebate rule (see docs/subsidy.md):

    rebate = min(floor(eligible_cost * share_percent / 100), cap_per_application)

computed once on the application's total eligible cost with integer arithmetic (rounded
down: the ministry never pays more than its share), then limited at approval to what is
left of the enterprise's cap for the program's fiscal year.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Literal, Protocol

from contracts.registry import Directorate
from contracts.subsidy import NATIONAL_RESERVE, ApplicationStatus, ProgramKind
from ikmkit.service.errors import Conflict, InvalidInput, InvalidInputs, Violations
from ikmkit.service.limits import RUPIAH_MAX
from services.subsidy.domain.program_terms import fail, fiscal_year_bounds

if TYPE_CHECKING:
    from services.subsidy.domain.model import Application, InvoiceLine
    from services.subsidy.domain.programs import Budget, Program

LineKind = Literal["machine", "certification_fee"]

LINE_KIND_OF_PROGRAM: dict[ProgramKind, LineKind] = {
    "machine_restructuring": "machine",
    "tkdn_certification": "certification_fee",
}
DEFAULT_SHARE_PERCENT: dict[ProgramKind, int] = {
    "machine_restructuring": 30,  # article 002: the IKM pays 70%, the ministry 30%
    "tkdn_certification": 100,  # article 004: free TKDN certification
}
ELIGIBLE_SIZE_CLASSES = ("small", "medium")
OPEN_STATUSES: tuple[ApplicationStatus, ...] = ("submitted", "under_review", "approved")
DECIDABLE_STATUSES: tuple[ApplicationStatus, ...] = ("submitted", "under_review")
CANCELLABLE_STATUSES: tuple[ApplicationStatus, ...] = (
    "submitted",
    "under_review",
    "approved",
    "on_hold",
)
COMMITTED_STATUSES: tuple[ApplicationStatus, ...] = ("approved", "disbursed")


def budget_id_for(program_id: str, province: str | None) -> str:
    return f"{program_id}:{province or NATIONAL_RESERVE}"


def require_status(app: Application, allowed: Iterable[ApplicationStatus], action: str) -> None:
    allowed = tuple(allowed)
    if app.status not in allowed:
        raise Conflict(
            f"cannot {action} an application that is {app.status}"
            f" (only when {' or '.join(allowed)})",
            field="status",
            rule=f"cannot_{action}_{app.status}",
        )


# --- who may apply --------------------------------------------------------------------------


class Applicant(Protocol):
    """What the rules need to know of an enterprise (the registry's, as replicated here)."""

    @property
    def nib(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def province(self) -> str: ...
    @property
    def regency(self) -> str: ...
    @property
    def kbli(self) -> str: ...
    @property
    def directorate(self) -> Directorate: ...
    @property
    def size_class(self) -> str: ...
    @property
    def status(self) -> str: ...


def ineligibility(enterprise: Applicant | None, program: Program) -> InvalidInput | None:
    """Why the enterprise may not apply to the program, or ``None`` if it may."""
    if enterprise is None:
        return InvalidInput("enterprise is not registered", field="nib", rule="enterprise_unknown")
    if enterprise.status == "suspended":
        return InvalidInput("enterprise is suspended", field="nib", rule="enterprise_suspended")
    if enterprise.status != "active":
        return InvalidInput(
            "enterprise is not verified yet", field="nib", rule="enterprise_not_verified"
        )
    if enterprise.size_class not in ELIGIBLE_SIZE_CLASSES:
        return InvalidInput(
            f"only small and medium enterprises may apply (this one is {enterprise.size_class})",
            field="nib",
            rule="enterprise_size_class",
        )
    return _sector_ineligibility(enterprise, program)


def _sector_ineligibility(enterprise: Applicant, program: Program) -> InvalidInput | None:
    if program.eligible_directorates and enterprise.directorate not in (
        program.eligible_directorates
    ):
        return InvalidInput(
            f"sector {enterprise.directorate} is not eligible for this program",
            field="nib",
            rule="sector_not_eligible",
        )
    if program.eligible_kbli_ranges and not any(
        r.contains(enterprise.kbli) for r in program.eligible_kbli_ranges
    ):
        return InvalidInput(
            f"KBLI {enterprise.kbli} is outside the program's ranges",
            field="nib",
            rule="kbli_not_eligible",
        )
    return None


def check_application(program: Program, enterprise: Applicant | None, now: datetime) -> Applicant:
    """The enterprise, if it may apply to the program now; else why not (window and
    eligibility together)."""
    found = Violations()
    found.check(_check_window, program, now)
    refusal = ineligibility(enterprise, program)
    if refusal is not None:
        found.check(_raise, refusal)
    found.raise_all()
    assert enterprise is not None
    return enterprise


def _raise(error: InvalidInput) -> None:
    raise error


def _check_window(program: Program, now: datetime) -> None:
    if not program.is_open(now):
        raise InvalidInput(
            f"the program accepts applications from {program.opens_at.isoformat()}"
            f" until {program.closes_at.isoformat()}",
            field="program_id",
            rule="outside_window",
        )


def check_enterprise_cap(program: Program, committed_rupiah: int) -> None:
    if committed_rupiah >= program.cap_per_enterprise_rupiah:
        raise InvalidInput(
            f"the enterprise reached its Rp {program.cap_per_enterprise_rupiah:,} cap"
            f" for {program.fiscal_year}",
            field="nib",
            rule="enterprise_cap_reached",
        )


# --- what an invoice is worth ---------------------------------------------------------------


def check_lines(
    lines: Sequence[InvoiceLine], program_kind: ProgramKind | None, found: Violations
) -> None:
    """Every bad line named in ``found``: an invoice has lines, each with a price, each of the
    kind the program pays for (``program_kind`` None: the program is not known yet)."""
    if not lines:
        found.check(fail, "at least one invoice line is needed", at="lines", code="required")
    wanted = LINE_KIND_OF_PROGRAM[program_kind] if program_kind else None
    for i, line in enumerate(lines):
        if line.price_rupiah <= 0:
            found.check(
                fail,
                "price must be a positive number of rupiah",
                at=f"lines[{i}].price_rupiah",
                code="positive",
            )
        if wanted is not None and line.kind != wanted:
            found.check(
                fail,
                f"a {program_kind} program pays only for {wanted} lines",
                at=f"lines[{i}].kind",
                code="line_kind",
            )


def unknown_program(program_id: str, lines: Sequence[InvoiceLine]) -> InvalidInputs:
    """No such program; with it, what the lines break that is theirs alone (one answer)."""
    found = Violations(
        [InvalidInput(f"no program {program_id}", field="program_id", rule="unknown_program")]
    )
    check_lines(lines, None, found)
    return InvalidInputs(found.found)


def eligible_cost(lines: Sequence[InvoiceLine], program: Program) -> int:
    """Validate the invoice lines against the program (every bad line named); the sum of the
    eligible prices."""
    found = Violations()
    check_lines(lines, program.kind, found)
    found.raise_all()
    total = sum(
        line.price_rupiah for line in lines if line.locally_made or not program.locally_made_only
    )
    if total == 0:
        raise InvalidInput(
            "the program pays only for locally made machines; none is",
            field="lines",
            rule="locally_made_only",
        )
    if total > RUPIAH_MAX:  # each line is within it, their sum need not be
        raise InvalidInput(
            f"the eligible lines total more than Rp {RUPIAH_MAX:,}",
            field="lines",
            rule="total_out_of_range",
        )
    return total


def rebate_for(cost_rupiah: int, program: Program) -> int:
    """The ministry's share, rounded down to the rupiah, capped per application."""
    share = cost_rupiah * program.share_percent // 100
    return min(share, program.cap_per_application_rupiah)


# --- where an approved rebate is reserved ---------------------------------------------------


@dataclass(frozen=True)
class Reservation:
    rebate_rupiah: int
    budget: Budget  # the budget after the reservation


@dataclass(frozen=True)
class Refusal:
    rule: str
    reason: str
    newly_exhausted: list[Budget]  # budgets to announce (BudgetExhausted) and flag
    needed_rupiah: int = 0  # the rebate no budget covered (after the enterprise's cap)


def lapsed(program: Program, now: datetime) -> Refusal | None:
    """After its fiscal year a program's budget commits nothing more: APBN money lapses at the
    year's end, so an application still undecided then is refused, not reserved."""
    _, ends = fiscal_year_bounds(program.fiscal_year)
    if now < ends:
        return None
    return Refusal(
        "fiscal_year_ended",
        f"fiscal year {program.fiscal_year} ended on {ends.isoformat()};"
        " its budget commits no more rebates",
        [],
    )


def decide_reservation(
    app: Application,
    committed_by_enterprise: int,
    program: Program,
    province_budget: Budget | None,
    reserve: Budget | None,
) -> Reservation | Refusal:
    """Reserve the rebate: from the province's budget, else wholly from the national reserve.

    The rebate is first limited to what is left of the enterprise's yearly cap.
    """
    left_for_enterprise = program.cap_per_enterprise_rupiah - committed_by_enterprise
    rebate = min(app.requested_rebate_rupiah, left_for_enterprise)
    if rebate <= 0:
        return Refusal(
            "enterprise_cap_reached",
            f"the enterprise already has Rp {committed_by_enterprise:,} of its"
            f" Rp {program.cap_per_enterprise_rupiah:,} cap for {program.fiscal_year}",
            [],
        )
    # A pool with nothing allocated does not exist for the enterprise (nor is it "exhausted").
    pools = [b for b in (province_budget, reserve) if b is not None and b.allocated_rupiah > 0]
    for budget in pools:
        if budget.covers(rebate):
            return Reservation(rebate, budget.reserve(rebate))
    remaining = ", ".join(f"{b.id} has Rp {b.remaining_rupiah:,} left" for b in pools)
    return Refusal(
        "budget_exhausted",
        f"budget cannot cover Rp {rebate:,}: {remaining or 'no budget for the province'}",
        [b for b in pools if not b.exhausted],
        rebate,
    )
