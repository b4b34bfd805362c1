"""Bulk imports of partners (``POST /partners/import``) and MoUs (``POST /mous/import``):
each row is checked on its own by the rules of ``POST /partners`` / ``POST /mous`` (and
``/sign`` for an MoU row with ``signed_on``), so one bad row never fails the others.

Idempotent: a row whose partner id or MoU id is already stored is ``existing`` and changes
nothing (an MoU row without an id gets one derived from its terms), so a file can be sent
again. The imported rows and their events commit in one unit of work.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from ikmkit.auth import Caller
from ikmkit.clock import jakarta_date
from ikmkit.service.body_rules import rules_beside_schema
from ikmkit.service.bulk import Violation
from ikmkit.service.errors import InvalidInput, Violations
from ikmkit.store import DuplicateKey
from ikmkit.unit_of_work import Changed, contended
from services.registry.commands import (
    DraftMoU,
    ImportedMoU,
    ImportMoUs,
    ImportPartners,
    MoURow,
    PartnerRow,
    RegisterPartner,
)
from services.registry.domain import access, link_rules
from services.registry.domain.mou import MoU
from services.registry.domain.partner import Partner
from services.registry.handlers.imports import request_errors
from services.registry.store import RegistryUnit

RowStatus = Literal["imported", "existing", "rejected"]


class ImportedPartner(BaseModel):
    index: int
    partner_id: str | None = None
    status: RowStatus
    errors: list[Violation] | None = None
    """Every rule the row breaks (only on a rejected row)."""


class ImportedMoURow(BaseModel):
    index: int
    mou_id: str | None = None
    status: RowStatus
    errors: list[Violation] | None = None
    """Every rule the row breaks (only on a rejected row)."""


class PartnerImportResult(BaseModel):
    rows: int
    imported: int
    existing: int
    rejected: int
    results: list[ImportedPartner]


class MoUImportResult(BaseModel):
    rows: int
    imported: int
    existing: int
    rejected: int
    results: list[ImportedMoURow]


def _counts(statuses: list[RowStatus]) -> dict[str, int]:
    return {
        "rows": len(statuses),
        **{s: statuses.count(s) for s in ("imported", "existing", "rejected")},
    }


def _status(errors: list[Violation], key: str | None, existing: set[str]) -> RowStatus:
    if errors:
        return "rejected"
    return "existing" if key in existing else "imported"


def _repeated(key: str | None, seen: set[str], what: str) -> list[Violation]:
    if key is None or key not in seen:
        seen.add(key or "")
        return []
    rule, message = "duplicate_in_file", f"the {what} is in an earlier row of this request"
    return [Violation(field=what, rule=rule, message=message)]


# --- partners ---------------------------------------------------------------------------------


def check_partner_row(
    row: PartnerRow, at: datetime
) -> tuple[Changed[Partner] | None, list[Violation]]:
    """The row as a registration, or every rule it breaks: the request model's, then the
    domain's on the fields the request model accepted."""
    given = row.model_dump(exclude_none=True)
    try:
        cmd = RegisterPartner.model_validate(given)
    except ValidationError as exc:
        beside = rules_beside_schema(RegisterPartner, given, exc.errors())
        return None, request_errors(exc) + [Violation.of(v) for v in beside]
    if cmd.partner_id is None:
        message = "an imported partner needs its partner_id (the key that makes a re-send safe)"
        return None, [Violation(field="partner_id", rule="missing", message=message)]
    violations = Violations()
    registered = Partner.checked(cmd.model_dump(), at, violations)
    return registered, [Violation.of(v) for v in violations.found]


# Partners registered through the API while this import ran: run it again, they are existing then.
@contended(5, also=(DuplicateKey,))
async def import_partners(
    uow: RegistryUnit, cmd: ImportPartners, caller: Caller
) -> PartnerImportResult:
    access.authorize_import_partners(caller)
    checked = [check_partner_row(row, uow.now) for row in cmd.rows]
    existing = await uow.partners.existing([r.partner_id for r in cmd.rows if r.partner_id])
    results: list[ImportedPartner] = []
    new: list[Partner] = []
    seen: set[str] = set()
    for index, (row, (registered, found)) in enumerate(zip(cmd.rows, checked, strict=True)):
        errors = found + _repeated(row.partner_id, seen, "partner_id")
        status = _status(errors, row.partner_id, existing)
        results.append(
            ImportedPartner(
                index=index, partner_id=row.partner_id, status=status, errors=errors or None
            )
        )
        if status == "imported" and registered is not None:
            new.append(uow.collect(registered))
    if new:
        await uow.partners.add_many(new)
    return PartnerImportResult(**_counts([r.status for r in results]), results=results)


# --- MoUs -------------------------------------------------------------------------------------


def _as_command(row: MoURow) -> dict[str, Any]:
    given = row.model_dump(exclude_none=True)
    if row.parties is not None:
        given["parties"] = [p.model_dump(exclude_none=True) for p in row.parties]
    return given


def derived_mou_id(cmd: ImportedMoU) -> str:
    """An id from the MoU's terms (not its signature: a draft's row signed later names the
    same MoU): the same row sent again names the same MoU."""
    terms = cmd.model_dump(mode="json", exclude={"mou_id", "signed_on", "document_ref"})
    digest = hashlib.sha256(json.dumps(terms, sort_keys=True).encode()).hexdigest()
    return f"mou-{digest[:16]}"


def _drafted(cmd: ImportedMoU, mou_id: str, caller: Caller, at: datetime) -> MoU:
    fields = {name: getattr(cmd, name) for name in DraftMoU.model_fields}
    return MoU.draft(**fields, mou_id=mou_id, created_by=caller.subject, created_at=at)


def _signed(mou: MoU, cmd: ImportedMoU, at: datetime) -> Changed[MoU]:
    if cmd.signed_on is None:
        return Changed(mou)
    if not mou.document_ref:
        raise InvalidInput(
            "a signed MoU needs its document reference", field="document_ref", rule="required"
        )
    return mou.sign(cmd.signed_on, mou.document_ref, jakarta_date(at), at)


class _MoURows:
    """What one request's MoU rows become: the MoUs to add, the results in order."""

    def __init__(self, known_partners: set[str], caller: Caller, at: datetime) -> None:
        self.known, self.caller, self.at = known_partners, caller, at
        self.results: list[ImportedMoURow] = []
        self.new: dict[str, Changed[MoU]] = {}

    def check(self, row: MoURow) -> tuple[str | None, Changed[MoU] | None, list[Violation]]:
        try:
            cmd = ImportedMoU.model_validate(_as_command(row))
        except ValidationError as exc:
            beside = rules_beside_schema(ImportedMoU, _as_command(row), exc.errors())
            return row.mou_id, None, request_errors(exc) + [Violation.of(v) for v in beside]
        violations = Violations()
        mou_id = violations.check(link_rules.check_mou_id, cmd.mou_id) if cmd.mou_id else None
        mou_id = mou_id or derived_mou_id(cmd)
        drafted = violations.check(_drafted, cmd, mou_id, self.caller, self.at)
        unknown = sorted(set(link_rules.non_ministry_parties(cmd.parties)) - self.known)
        if unknown:
            violations.found.append(
                InvalidInput(
                    f"not registered partners: {', '.join(unknown)}",
                    field="parties",
                    rule="unknown_partner",
                )
            )
        signed = drafted and violations.check(_signed, drafted, cmd, self.at)
        return mou_id, signed or None, [Violation.of(v) for v in violations.found]


def _party_ids(rows: list[MoURow]) -> list[str]:
    return sorted({p.partner_id for r in rows for p in r.parties or () if p.partner_id})


# MoUs imported by another request meanwhile: run it again, they are existing then.
@contended(5, also=(DuplicateKey,))
async def import_mous(uow: RegistryUnit, cmd: ImportMoUs, caller: Caller) -> MoUImportResult:
    access.authorize_import_mous(caller)
    rows = _MoURows(await uow.partners.existing(_party_ids(cmd.rows)), caller, uow.now)
    checked = [rows.check(row) for row in cmd.rows]
    existing = await uow.mous.existing([mou_id for mou_id, _, _ in checked if mou_id])
    seen: set[str] = set()
    for index, (mou_id, made, found) in enumerate(checked):
        errors = found + _repeated(mou_id, seen, "mou_id")
        status = _status(errors, mou_id, existing)
        rows.results.append(
            ImportedMoURow(index=index, mou_id=mou_id, status=status, errors=errors or None)
        )
        if status == "imported" and made is not None and mou_id is not None:
            rows.new[mou_id] = made
    if rows.new:
        await uow.mous.add_many([uow.collect(made) for made in rows.new.values()])
    return MoUImportResult(**_counts([r.status for r in rows.results]), results=rows.results)
