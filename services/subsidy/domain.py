"""Subsidy domain rules: programs, eligibility, the rebate amount, the application state
machine, budget reservation and the reports. Pure: no I/O, no clock (times are passed in).

Money is integer rupiah. The rebate rule (see docs/subsidy.md):

    rebate = min(floor(eligible_cost * share_percent / 100), cap_per_application)

computed once on the application's total eligible cost with integer arithmetic (rounded
down: the ministry never pays more than its share), then limited at approval to what is
left of the enterprise's cap for the program's fiscal year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.registry import Directorate
from contracts.subsidy import NATIONAL_RESERVE, ApplicationStatus, BudgetPool, ProgramKind
from ikmkit.service.errors import Conflict, Forbidden, InvalidInput
from ikmkit.service.limits import Code, Rupiah

LineKind = Literal["machine", "certification_fee"]
EnterpriseStatus = Literal["registered", "active", "suspended"]

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

_PROVINCE = re.compile(r"^\d{2}$")
_KBLI = re.compile(r"^\d{5}$")


# --- programs -------------------------------------------------------------------------------


class KbliRange(BaseModel):
    """Inclusive range of 5-digit KBLI codes, e.g. 25000..30999 for metal and machinery."""

    model_config = ConfigDict(frozen=True)

    from_kbli: Code
    to_kbli: Code

    def contains(self, kbli: str) -> bool:
        return self.from_kbli <= kbli <= self.to_kbli


class Program(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    kind: ProgramKind
    name: str
    fiscal_year: int
    share_percent: int
    cap_per_application_rupiah: int
    cap_per_enterprise_rupiah: int
    eligible_directorates: list[Directorate] = Field(default_factory=list)
    eligible_kbli_ranges: list[KbliRange] = Field(default_factory=list)
    locally_made_only: bool = False
    province_budgets: dict[str, int]
    national_reserve_rupiah: int = 0
    opens_at: datetime
    closes_at: datetime
    created_by: str
    created_at: datetime
    version: int = 0

    def is_open(self, now: datetime) -> bool:
        return self.opens_at <= now < self.closes_at


def check_program(program: Program) -> Program:
    """Every rule a new program must satisfy; raises ``InvalidInput`` naming the field."""
    if not 1 <= program.share_percent <= 100:
        raise InvalidInput("share must be 1..100 percent", field="share_percent", rule="range")
    for name in ("cap_per_application_rupiah", "cap_per_enterprise_rupiah"):
        if getattr(program, name) <= 0:
            raise InvalidInput(f"{name} must be positive", field=name, rule="positive")
    if program.cap_per_application_rupiah > program.cap_per_enterprise_rupiah:
        raise InvalidInput(
            "cap per application cannot exceed the cap per enterprise",
            field="cap_per_application_rupiah",
            rule="not_above_enterprise_cap",
        )
    if not 2000 <= program.fiscal_year <= 2100:
        raise InvalidInput("fiscal year out of range", field="fiscal_year", rule="range")
    if program.closes_at <= program.opens_at:
        raise InvalidInput("window closes before it opens", field="closes_at", rule="after_opens")
    _check_budgets(program)
    _check_kbli_ranges(program.eligible_kbli_ranges)
    return program


def _check_budgets(program: Program) -> None:
    if not program.province_budgets and program.national_reserve_rupiah <= 0:
        raise InvalidInput("a program needs a budget", field="province_budgets", rule="required")
    for province, amount in program.province_budgets.items():
        if not _PROVINCE.match(province):
            raise InvalidInput(
                f"province code {province!r} must be 2 digits (Kemendagri)",
                field=f"province_budgets.{province}",
                rule="province_code",
            )
        if amount < 0:
            raise InvalidInput(
                "budget cannot be negative", field=f"province_budgets.{province}", rule="min_0"
            )
    if program.national_reserve_rupiah < 0:
        raise InvalidInput(
            "budget cannot be negative", field="national_reserve_rupiah", rule="min_0"
        )


def _check_kbli_ranges(ranges: Sequence[KbliRange]) -> None:
    for i, kbli_range in enumerate(ranges):
        if not (_KBLI.match(kbli_range.from_kbli) and _KBLI.match(kbli_range.to_kbli)):
            raise InvalidInput(
                "KBLI codes have 5 digits", field=f"eligible_kbli_ranges[{i}]", rule="kbli_format"
            )
        if kbli_range.from_kbli > kbli_range.to_kbli:
            raise InvalidInput(
                "range ends before it starts", field=f"eligible_kbli_ranges[{i}]", rule="order"
            )


# --- the enterprise replica -----------------------------------------------------------------


class EnterpriseReplica(BaseModel):
    """What the subsidy service knows of an enterprise, from the registry's events."""

    model_config = ConfigDict(frozen=True)

    nib: str
    name: str
    province: str
    regency: str
    kbli: str
    directorate: Directorate
    size_class: str
    status: EnterpriseStatus = "registered"
    sequence: int = 0  # last registry event applied (ce_sequence), to ignore stale replays
    version: int = 0


def ineligibility(enterprise: EnterpriseReplica | None, program: Program) -> InvalidInput | None:
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


# --- applications ---------------------------------------------------------------------------


class InvoiceLine(BaseModel):
    """A machine on the supplier's invoice, or a TKDN certification fee."""

    model_config = ConfigDict(frozen=True)

    kind: LineKind
    description: str = Field(min_length=1, max_length=200)
    supplier: str = Field(min_length=1, max_length=200)
    price_rupiah: Rupiah
    locally_made: bool = False


class Rejection(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    reason: str


class Application(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    program_id: str
    program_kind: ProgramKind
    program_name: str
    fiscal_year: int
    nib: str
    enterprise_name: str
    province: str
    regency: str
    directorate: str
    kbli: str
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
    last_change_id: str | None = None  # id of the use-case call that made the last change
    version: int = 0


def eligible_cost(lines: Sequence[InvoiceLine], program: Program) -> int:
    """Validate the invoice lines against the program; the sum of the eligible prices."""
    if not lines:
        raise InvalidInput("at least one invoice line is needed", field="lines", rule="required")
    wanted = LINE_KIND_OF_PROGRAM[program.kind]
    total = 0
    for i, line in enumerate(lines):
        if line.price_rupiah <= 0:
            raise InvalidInput(
                "price must be a positive number of rupiah",
                field=f"lines[{i}].price_rupiah",
                rule="positive",
            )
        if line.kind != wanted:
            raise InvalidInput(
                f"a {program.kind} program pays only for {wanted} lines",
                field=f"lines[{i}].kind",
                rule="line_kind",
            )
        if line.locally_made or not program.locally_made_only:
            total += line.price_rupiah
    if total == 0:
        raise InvalidInput(
            "the program pays only for locally made machines; none is",
            field="lines",
            rule="locally_made_only",
        )
    return total


def rebate_for(cost_rupiah: int, program: Program) -> int:
    """The ministry's share, rounded down to the rupiah, capped per application."""
    share = cost_rupiah * program.share_percent // 100
    return min(share, program.cap_per_application_rupiah)


def require_status(app: Application, allowed: Iterable[ApplicationStatus], action: str) -> None:
    allowed = tuple(allowed)
    if app.status not in allowed:
        raise Conflict(
            f"cannot {action} an application that is {app.status}"
            f" (only when {' or '.join(allowed)})",
            field="status",
            rule=f"cannot_{action}_{app.status}",
        )


def budget_id_for(program_id: str, province: str | None) -> str:
    return f"{program_id}:{province or NATIONAL_RESERVE}"


# --- budgets ----------------------------------------------------------------------------------


class Budget(BaseModel):
    """One pool of a program's money: a province's allocation or the national reserve.

    Invariant: reserved + disbursed + remaining = allocated, remaining >= 0.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    program_id: str
    program_kind: ProgramKind
    program_name: str
    fiscal_year: int
    pool: BudgetPool
    province: str | None
    allocated_rupiah: int
    reserved_rupiah: int = 0
    disbursed_rupiah: int = 0
    exhausted: bool = False  # a BudgetExhausted was published since the last release
    version: int = 0

    @property
    def remaining_rupiah(self) -> int:
        return self.allocated_rupiah - self.reserved_rupiah - self.disbursed_rupiah

    def covers(self, amount: int) -> bool:
        return amount <= self.remaining_rupiah

    def reserve(self, amount: int) -> Budget:
        if not self.covers(amount):
            raise Conflict("budget cannot cover the amount", rule="budget_exhausted")
        return self.model_copy(
            update={"reserved_rupiah": self.reserved_rupiah + amount, "exhausted": False}
        )

    def release(self, amount: int) -> Budget:
        return self.model_copy(
            update={"reserved_rupiah": self.reserved_rupiah - amount, "exhausted": False}
        )

    def disburse(self, amount: int) -> Budget:
        return self.model_copy(
            update={
                "reserved_rupiah": self.reserved_rupiah - amount,
                "disbursed_rupiah": self.disbursed_rupiah + amount,
            }
        )


def budgets_of(program: Program) -> list[Budget]:
    common = {
        "program_id": program.id,
        "program_kind": program.kind,
        "program_name": program.name,
        "fiscal_year": program.fiscal_year,
    }
    budgets = [
        Budget(
            id=budget_id_for(program.id, province),
            pool="province",
            province=province,
            allocated_rupiah=amount,
            **common,
        )
        for province, amount in sorted(program.province_budgets.items())
    ]
    budgets.append(
        Budget(
            id=budget_id_for(program.id, None),
            pool="national_reserve",
            province=None,
            allocated_rupiah=program.national_reserve_rupiah,
            **common,
        )
    )
    return budgets


@dataclass(frozen=True)
class Reservation:
    rebate_rupiah: int
    budget: Budget  # the budget after the reservation


@dataclass(frozen=True)
class Refusal:
    rule: str
    reason: str
    newly_exhausted: list[Budget]  # budgets to announce (BudgetExhausted) and flag


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
    refusing = pools
    remaining = ", ".join(f"{b.id} has Rp {b.remaining_rupiah:,} left" for b in refusing)
    return Refusal(
        "budget_exhausted",
        f"budget cannot cover Rp {rebate:,}: {remaining or 'no budget for the province'}",
        [b for b in refusing if not b.exhausted],
    )


# --- who may do what -------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """The caller as the rules see it (built from the auth principal)."""

    subject: str
    role: str
    province: str | None = None
    nib: str | None = None


def may_apply(actor: Actor, nib: str, province: str | None) -> None:
    if actor.role == "ministry":
        return
    if actor.role == "enterprise" and actor.nib == nib:
        return
    if actor.role == "regional" and province is not None and actor.province == province:
        return
    raise Forbidden("an enterprise applies only for its own NIB", field="nib", rule="own_nib")


def may_see(actor: Actor, app: Application) -> bool:
    if actor.role in ("ministry", "service"):
        return True
    if actor.role == "regional":
        return actor.province == app.province
    if actor.role == "enterprise":
        return actor.nib == app.nib
    return False


def may_review(actor: Actor, app: Application) -> None:
    """Reviewing (start review, reject) is for the ministry and the province's officers."""
    if actor.role == "ministry":
        return
    if actor.role == "regional" and actor.province == app.province:
        return
    raise Forbidden(
        "only the ministry or a regional officer of the application's province may review it",
        rule="reviewer_scope",
    )


def may_approve(actor: Actor, app: Application, regional_limit_rupiah: int) -> None:
    may_review(actor, app)
    if actor.role == "regional" and app.requested_rebate_rupiah > regional_limit_rupiah:
        raise Forbidden(
            f"a regional officer approves rebates up to Rp {regional_limit_rupiah:,};"
            f" this one (Rp {app.requested_rebate_rupiah:,}) needs a ministry officer",
            rule="regional_approval_limit",
        )


def may_cancel(actor: Actor, app: Application) -> None:
    if actor.role == "enterprise" and actor.nib == app.nib:
        return
    may_review(actor, app)


def may_disburse(actor: Actor) -> None:
    if actor.role not in ("ministry", "service"):
        raise Forbidden("only the ministry (or its payment system) disburses", rule="role")


# --- reports ---------------------------------------------------------------------------------


class BudgetLine(BaseModel):
    budget_id: str
    program_id: str
    program_kind: ProgramKind
    program_name: str
    fiscal_year: int
    pool: BudgetPool
    province: str | None
    allocated_rupiah: int
    reserved_rupiah: int
    disbursed_rupiah: int
    remaining_rupiah: int
    reconciles: bool


class BudgetTotals(BaseModel):
    allocated_rupiah: int = 0
    reserved_rupiah: int = 0
    disbursed_rupiah: int = 0
    remaining_rupiah: int = 0
    reconciles: bool = True


class BudgetReport(BaseModel):
    items: list[BudgetLine]
    totals: BudgetTotals


def budget_report(budgets: Iterable[Budget]) -> BudgetReport:
    lines = [
        BudgetLine(
            budget_id=b.id,
            program_id=b.program_id,
            program_kind=b.program_kind,
            program_name=b.program_name,
            fiscal_year=b.fiscal_year,
            pool=b.pool,
            province=b.province,
            allocated_rupiah=b.allocated_rupiah,
            reserved_rupiah=b.reserved_rupiah,
            disbursed_rupiah=b.disbursed_rupiah,
            remaining_rupiah=b.remaining_rupiah,
            reconciles=b.remaining_rupiah >= 0
            and b.reserved_rupiah >= 0
            and b.reserved_rupiah + b.disbursed_rupiah + b.remaining_rupiah == b.allocated_rupiah,
        )
        for b in budgets
    ]
    totals = BudgetTotals(
        allocated_rupiah=sum(x.allocated_rupiah for x in lines),
        reserved_rupiah=sum(x.reserved_rupiah for x in lines),
        disbursed_rupiah=sum(x.disbursed_rupiah for x in lines),
        remaining_rupiah=sum(x.remaining_rupiah for x in lines),
        reconciles=all(x.reconciles for x in lines),
    )
    return BudgetReport(items=lines, totals=totals)


class StatsRow(BaseModel):
    key: str
    applications: int = 0
    approvals: int = 0
    approved_rupiah: int = 0
    disbursed_rupiah: int = 0


class Stats(BaseModel):
    applications: int
    approvals: int
    approved_rupiah: int
    disbursed_rupiah: int
    by_program: list[StatsRow]
    by_province: list[StatsRow]
    by_directorate: list[StatsRow]


@dataclass(frozen=True)
class StatsCell:
    """Applications of one program, province, directorate and status; their rebate sum."""

    program_id: str
    province: str
    directorate: str
    status: str
    count: int
    rebate_rupiah: int


def stats_of(cells: Iterable[StatsCell]) -> Stats:
    """Approvals count applications approved or later disbursed; rupiah are their rebates."""
    dims: dict[str, dict[str, StatsRow]] = {"program": {}, "province": {}, "directorate": {}}
    total = StatsRow(key="all")
    for cell in cells:
        keys = {"program": cell.program_id, "province": cell.province}
        keys["directorate"] = cell.directorate
        for dim, key in keys.items():
            _add(dims[dim].setdefault(key, StatsRow(key=key)), cell)
        _add(total, cell)
    return Stats(
        applications=total.applications,
        approvals=total.approvals,
        approved_rupiah=total.approved_rupiah,
        disbursed_rupiah=total.disbursed_rupiah,
        by_program=sorted(dims["program"].values(), key=lambda r: r.key),
        by_province=sorted(dims["province"].values(), key=lambda r: r.key),
        by_directorate=sorted(dims["directorate"].values(), key=lambda r: r.key),
    )


def _add(row: StatsRow, cell: StatsCell) -> None:
    row.applications += cell.count
    if cell.status in COMMITTED_STATUSES:
        row.approvals += cell.count
        row.approved_rupiah += cell.rebate_rupiah
    if cell.status == "disbursed":
        row.disbursed_rupiah += cell.rebate_rupiah
