"""The budget report (does every pool reconcile?) and the application statistics."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel

from contracts.subsidy import BudgetPool, ProgramKind
from contracts.values import ProvinceText
from services.subsidy.domain.programs import Budget, Year
from services.subsidy.domain.rules import COMMITTED_STATUSES


class BudgetLine(BaseModel):
    budget_id: str
    program_id: str
    program_kind: ProgramKind
    program_name: str
    fiscal_year: Year
    pool: BudgetPool
    province: ProvinceText | None
    allocated_rupiah: int
    reserved_rupiah: int
    disbursed_rupiah: int
    remaining_rupiah: int
    reconciles: bool

    @classmethod
    def of(cls, b: Budget) -> BudgetLine:
        return cls(
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
    lines = [BudgetLine.of(b) for b in budgets]
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
    name: str | None = None
    """The program's name (``by_program`` rows only; ``key`` stays the program id)."""
    applications: int = 0
    approvals: int = 0
    approved_rupiah: int = 0
    disbursed_rupiah: int = 0


class Stats(BaseModel):
    province_scope: str | None = None
    """The province the figures are limited to (a regional officer's own); ``None``: national."""
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
    program_name: str | None = None


def stats_of(cells: Iterable[StatsCell]) -> Stats:
    """Approvals count applications approved or later disbursed; rupiah are their rebates."""
    dims: dict[str, dict[str, StatsRow]] = {"program": {}, "province": {}, "directorate": {}}
    total = StatsRow(key="all")
    for cell in cells:
        keys = {"program": cell.program_id, "province": cell.province}
        keys["directorate"] = cell.directorate
        for dim, key in keys.items():
            name = cell.program_name if dim == "program" else None
            _add(dims[dim].setdefault(key, StatsRow(key=key, name=name)), cell)
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
