"""Bulk import of enterprises (``POST /enterprises/import``): every row is checked on its own
by the rules of ``POST /enterprises``, so one bad row never fails the others.

Idempotent: a row whose NIB is already registered is ``existing`` and changes nothing, so a
file can be sent again. The imported rows and their events commit in one unit of work.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from ikmkit.auth import Caller
from ikmkit.service.body_rules import rules_beside_schema
from ikmkit.service.bulk import Violation
from ikmkit.service.errors import Violations
from ikmkit.service.problems import dotted
from ikmkit.store import DuplicateKey
from ikmkit.unit_of_work import Changed, contended
from services.registry.commands import EnterpriseRow, ImportEnterprises, RegisterEnterprise
from services.registry.domain import access
from services.registry.domain.facts import EnterpriseFacts
from services.registry.domain.model import Enterprise
from services.registry.handlers.enterprises import command_data
from services.registry.store import RegistryUnit


class ImportedRow(BaseModel):
    index: int
    nib: str | None = Field(None, description="The row's NIB as sent (absent when it had none)")
    status: Literal["imported", "existing", "rejected"]
    errors: list[Violation] | None = None
    """Every rule the row breaks (only on a rejected row)."""


class ImportResult(BaseModel):
    rows: int
    imported: int
    existing: int
    rejected: int
    results: list[ImportedRow]


def request_errors(exc: ValidationError) -> list[Violation]:
    # Named as a request's 422 names it (memberships[1]): a row's error reads the same.
    return [
        Violation(field=dotted(e["loc"]), rule=e["type"], message=e["msg"]) for e in exc.errors()
    ]


def check_row(
    row: EnterpriseRow, at: datetime
) -> tuple[Changed[Enterprise] | None, list[Violation]]:
    """The row as a registration, or every rule it breaks: the request model's rules, then the
    domain's on the fields the request model accepted (as a request's 422 names them). Each
    value is checked once: the domain's rules run on what the value types accepted."""
    given = {name: value for name, value in row.__dict__.items() if value is not None}
    try:
        cmd = RegisterEnterprise.model_validate(given)
    except ValidationError as exc:
        beside = rules_beside_schema(RegisterEnterprise, given, exc.errors())
        return None, request_errors(exc) + [Violation.of(v) for v in beside]
    violations = Violations()
    facts = EnterpriseFacts.checked(command_data(cmd), violations, typed=True)
    registered = facts and violations.check(Enterprise.register, cmd.nib, facts, at)
    return registered or None, [Violation.of(v) for v in violations.found]


class _Rows:
    """The results of one request's rows, in order, and the enterprises to add."""

    def __init__(self) -> None:
        self.results: list[ImportedRow] = []
        self.new: dict[str, Changed[Enterprise]] = {}

    def add(self, index: int, nib: str | None, errors: list[Violation]) -> None:
        status: Literal["imported", "rejected"] = "rejected" if errors else "imported"
        self.results.append(ImportedRow(index=index, nib=nib, status=status, errors=errors or None))

    def summary(self, existing: set[str]) -> ImportResult:
        for r in self.results:
            if r.status == "imported" and r.nib in existing:
                r.status = "existing"
        count = {s: sum(r.status == s for r in self.results) for s in ("imported", "existing")}
        return ImportResult(
            rows=len(self.results),
            rejected=len(self.results) - count["imported"] - count["existing"],
            results=self.results,
            **count,
        )


def _checked_rows(cmd: ImportEnterprises, caller: Caller, at: datetime) -> _Rows:
    rows = _Rows()
    seen: set[str] = set()
    for index, row in enumerate(cmd.rows):
        registered, errors = check_row(row, at)
        if row.province and not access.may_import_into(caller, row.province):
            errors.append(
                Violation(
                    field="province",
                    rule="forbidden_province",
                    message=f"a regional officer of province {caller.province} imports only there",
                )
            )
        if row.nib in seen:
            errors.append(
                Violation(
                    field="nib",
                    rule="duplicate_in_file",
                    message="the NIB is in an earlier row of this request",
                )
            )
        seen.add(row.nib or "")
        rows.add(index, row.nib, errors)
        if registered is not None and not errors:
            rows.new[registered.state.nib] = registered
    return rows


# Rows registered through the API while this import ran: run it again, they are existing then.
@contended(5, also=(DuplicateKey,))
async def import_enterprises(
    uow: RegistryUnit, cmd: ImportEnterprises, caller: Caller
) -> ImportResult:
    access.authorize_import(caller)
    rows = _checked_rows(cmd, caller, uow.now)
    existing = await uow.enterprises.existing(list(rows.new))
    new = [uow.collect(r) for nib, r in rows.new.items() if nib not in existing]
    if new:
        await uow.enterprises.add_many(new)
    return rows.summary(existing)
