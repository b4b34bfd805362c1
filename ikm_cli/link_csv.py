"""Partners and MoUs in CSV files, as the rows of ``POST /partners/import`` and
``POST /mous/import`` (the batches and the error report are ``enterprise_csv``'s).

Partner columns (header row required): ``partner_id, name, partner_type, country, province,
regency, contact_email, preferred_language, memberships, member_count``; ``memberships`` is
``;``-separated.

MoU columns: ``mou_id, title, scope, parties, valid_from, valid_until, signed_on,
document_ref, province, regency``. ``parties`` names the parties by partner id, ``;``-separated,
a witness as ``id:witness`` (e.g. ``ministry:witness;smk-n-2-depok;pt-astra``). Dates are
``YYYY-MM-DD``; a row with ``signed_on`` is imported signed; without ``mou_id`` the registry
derives the id from the row's terms.

Empty cells are left out (the service's defaults apply); other columns are ignored, and named
on stderr. Nothing is validated here beyond the header: the registry checks every row.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from ikm_cli.enterprise_csv import MissingColumns, dict_reader, number, thousands_of


@dataclass(frozen=True)
class CsvKind:
    """One kind of import file: its columns and how a cell becomes a request value."""

    columns: tuple[str, ...]
    required: tuple[str, ...]
    lists: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()

    def to_row(
        self, cells: dict[str | None, str | None], thousands: str | None = None
    ) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for column in self.columns:
            value = (cells.get(column) or "").strip()
            if not value:
                continue
            if column in self.lists:
                row[column] = _split(value)
            elif column == "parties":
                row[column] = parties(value)
            elif column in self.numbers:
                row[column] = number(value, thousands)
            else:
                row[column] = value
        return row

    def read_rows(self, handle: TextIO) -> Iterator[dict[str, Any]]:
        """The file's rows; ``MissingColumns`` (before any row) if a required column is absent."""
        reader = dict_reader(handle, self.columns)
        missing = [c for c in self.required if c not in (reader.fieldnames or [])]
        if missing:
            raise MissingColumns(missing)
        thousands = thousands_of(reader)
        for cells in reader:
            yield self.to_row(cells, thousands)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def parties(value: str) -> list[dict[str, str]]:
    """``ministry:witness;smk-1`` as ``[{partner_id, role}, {partner_id}]``."""
    found = []
    for part in _split(value):
        partner_id, _, role = part.partition(":")
        party = {"partner_id": partner_id.strip()}
        if role.strip():
            party["role"] = role.strip()
        found.append(party)
    return found


PARTNERS = CsvKind(
    columns=(
        "partner_id", "name", "partner_type", "country", "province", "regency", "contact_email",
        "preferred_language", "memberships", "member_count",
    ),
    required=("partner_id", "name", "partner_type"),
    lists=("memberships",),
    numbers=("member_count",),
)  # fmt: skip
MOUS = CsvKind(
    columns=(
        "mou_id", "title", "scope", "parties", "valid_from", "valid_until", "signed_on",
        "document_ref", "province", "regency",
    ),
    required=("title", "scope", "parties", "valid_from", "valid_until"),
)  # fmt: skip
