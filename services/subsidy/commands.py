"""Subsidy request models: every value bounded (``ikmkit.service.limits``, ``contracts.values``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import Field

from contracts.registry import Directorate
from contracts.subsidy import ProgramKind
from contracts.values import Nib
from ikmkit.service.command import Command
from ikmkit.service.errors import InvalidInput, Violations
from ikmkit.service.limits import MAX_ITEMS, MAX_LINES, Code, FiscalYear, Percent, StrictRupiah
from services.subsidy.domain import program_terms, rules
from services.subsidy.domain.model import InvoiceLine
from services.subsidy.domain.programs import KbliRange


class CreateProgram(Command):
    kind: ProgramKind
    name: str = Field(min_length=3, max_length=200)
    fiscal_year: FiscalYear
    share_percent: Percent | None = Field(
        None, description="Ministry's share of the eligible cost; default 30 (machines), 100 (TKDN)"
    )
    cap_per_application_rupiah: StrictRupiah
    cap_per_enterprise_rupiah: StrictRupiah
    eligible_directorates: Annotated[list[Directorate], MAX_ITEMS] = Field(default_factory=list)
    eligible_kbli_ranges: Annotated[list[KbliRange], MAX_ITEMS] = Field(default_factory=list)
    locally_made_only: bool = False
    province_budgets: Annotated[dict[Code, StrictRupiah], MAX_ITEMS] = Field(
        description="Rupiah per Kemendagri province code (2 digits)"
    )
    national_reserve_rupiah: StrictRupiah = 0
    opens_at: datetime
    closes_at: datetime

    @classmethod
    def rules_broken(cls, fields: dict[str, Any]) -> list[InvalidInput]:
        found = Violations()
        if "eligible_kbli_ranges" in fields:
            ranges = fields["eligible_kbli_ranges"]
            fields["eligible_kbli_ranges"] = [KbliRange.model_validate(r) for r in ranges]
        program_terms.program_rules(fields, found)
        return found.found


class SubmitApplication(Command):
    program_id: Code
    nib: Nib
    lines: Annotated[list[InvoiceLine], MAX_LINES]

    @classmethod
    def rules_broken(cls, fields: dict[str, Any]) -> list[InvalidInput]:
        found = Violations()
        if "lines" in fields:
            lines = [InvoiceLine.model_validate(line) for line in fields["lines"]]
            rules.check_lines(lines, None, found)
        return found.found


class RejectApplication(Command):
    reason: str = Field(min_length=3, max_length=1000)


class DisburseApplication(Command):
    payment_reference: str = Field(min_length=3, max_length=100)


class CancelApplication(Command):
    reason: str = Field(min_length=3, max_length=1000)
