"""Bulk import of enterprises from CSV: every row validated by the same rules as
``POST /enterprises``; good rows imported in batches, idempotently.

Idempotent: a row whose NIB is already registered is skipped (reported as ``existing``),
so re-running the same file changes nothing. Each batch is one unit of work holding the
enterprises and their ``EnterpriseRegistered`` events (transactional outbox), so the running
registry publishes them like any registration.

CSV columns (header row required): ``nib, name, legal_form, owner_name, owner_nik,
owner_phone, owner_email, preferred_language, street, postal_code, province, regency, kbli,
workforce, investment_rupiah, products, campaigns, marketplace_stores``. ``products`` and
``campaigns`` are ``;``-separated; ``marketplace_stores`` is ``platform=url;platform=url``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from pydantic import ValidationError

from ikmkit.service.errors import InvalidInput
from ikmkit.store import DuplicateKey
from services.registry.domain import Enterprise
from services.registry.service import (
    Ports,
    RegisterEnterprise,
    registration_events,
    validate_registration,
)
from services.registry.store import EnterpriseRepository

REQUIRED_COLUMNS = ("nib", "name", "owner_name", "province", "regency", "kbli")


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row number (the header is row 0)
    nib: str
    field: str
    rule: str
    message: str


@dataclass
class ImportReport:
    imported: int = 0
    existing: int = 0
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        return len({e.row for e in self.errors})


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def _stores(value: str | None) -> list[dict[str, str]]:
    stores = []
    for part in _split(value):
        platform, _, url = part.partition("=")
        stores.append({"platform": platform.strip(), "shop_url": url.strip()})
    return stores


def row_to_command(row: dict[str, str | None]) -> RegisterEnterprise:
    """A CSV row as a registration command; blank cells are absent values."""
    data: dict[str, Any] = {k: (v.strip() if v else None) for k, v in row.items() if k}
    data["products"] = _split(row.get("products"))
    data["campaigns"] = _split(row.get("campaigns"))
    data["marketplace_stores"] = _stores(row.get("marketplace_stores"))
    for optional in (
        "legal_form",
        "preferred_language",
        "street",
        "workforce",
        "investment_rupiah",
    ):
        if data.get(optional) is None:
            data.pop(optional, None)
    return RegisterEnterprise.model_validate(data)


def _row_errors(row_number: int, nib: str, exc: ValidationError) -> list[RowError]:
    return [
        RowError(row_number, nib, ".".join(str(p) for p in err["loc"]), err["type"], err["msg"])
        for err in exc.errors()
    ]


class _Validator:
    """Validates rows one by one, remembering the NIBs seen so a repeated one is an error."""

    def __init__(self, report: ImportReport, ports: Ports) -> None:
        self._report = report
        self._ports = ports
        self._seen: set[str] = set()

    def enterprise(self, number: int, row: dict[str, str | None]) -> Enterprise | None:
        nib = (row.get("nib") or "").strip()
        try:
            cmd = row_to_command(row)
        except ValidationError as exc:
            self._report.errors += _row_errors(number, nib, exc)
            return None
        facts, violations = validate_registration(cmd)
        enterprise: Enterprise | None = None
        if facts is not None:
            try:
                enterprise = Enterprise.register(cmd.nib, facts, self._ports.clock())
            except InvalidInput as exc:
                violations.found.append(exc)
        if violations.found:
            self._report.errors += [
                RowError(number, nib, v.field or "", v.rule or "", v.message)
                for v in violations.found
            ]
            return None
        if nib in self._seen:
            self._report.errors.append(
                RowError(number, nib, "nib", "duplicate_in_file", "NIB appears earlier in the file")
            )
            return None
        self._seen.add(nib)
        return enterprise  # None only if a violation was recorded above


def _batches(
    rows: Iterable[dict[str, str | None]], size: int
) -> Iterator[tuple[int, list[dict[str, str | None]]]]:
    batch: list[dict[str, str | None]] = []
    first = 1
    for number, row in enumerate(rows, start=1):
        if not batch:
            first = number
        batch.append(row)
        if len(batch) >= size:
            yield first, batch
            batch = []
    if batch:
        yield first, batch


async def _store_batch(enterprises: list[Enterprise], ports: Ports) -> tuple[int, int]:
    """Adds the enterprises not registered yet, with their events; (imported, existing)."""
    for attempt in range(3):
        try:
            async with ports.store.transaction() as uow:
                repo = EnterpriseRepository(uow)
                existing = await repo.existing([e.nib for e in enterprises])
                new = [e for e in enterprises if e.nib not in existing]
                if new:
                    await repo.add_many(new)
                    events = [event for e in new for event in registration_events(e)]
                    await ports.outbox.add_many(uow, events)
            return len(new), len(existing)
        except DuplicateKey:
            # Registered through the API meanwhile: look again (that one now counts as existing).
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


async def import_enterprises(
    rows: Iterable[dict[str, str | None]],
    ports: Ports,
    *,
    batch_size: int = 1000,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    validator = _Validator(report, ports)
    for first, batch in _batches(rows, batch_size):
        valid = [
            e
            for offset, row in enumerate(batch)
            if (e := validator.enterprise(first + offset, row)) is not None
        ]
        if valid:
            imported, existing = await _store_batch(valid, ports)
            report.imported += imported
            report.existing += existing
        report.rows += len(batch)
        if on_progress is not None:
            on_progress(len(batch))
    return report


def read_csv(handle: TextIO) -> Iterator[dict[str, str | None]]:
    reader = csv.DictReader(handle)
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise InvalidInput(
            f"the CSV header lacks columns: {', '.join(missing)}", field="header", rule="columns"
        )
    yield from reader


ERROR_REPORT_COLUMNS = ("row", "nib", "field", "rule", "message")


def write_error_report(errors: Iterable[RowError], handle: TextIO) -> None:
    writer = csv.writer(handle)
    writer.writerow(ERROR_REPORT_COLUMNS)
    for e in errors:
        writer.writerow([e.row, e.nib, e.field, e.rule, e.message])
