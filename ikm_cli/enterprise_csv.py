"""Enterprises in a CSV file, as the rows of ``POST /enterprises/import``; the error report.

Columns (header row required): ``nib, name, legal_form, owner_name, owner_nik, owner_phone,
owner_email, preferred_language, street, postal_code, province, regency, kbli, workforce,
investment_rupiah, products, campaigns, marketplace_stores``. ``products`` and ``campaigns``
are ``;``-separated; ``marketplace_stores`` is ``platform=url;platform=url``. Empty cells are
left out (the service's defaults apply); other columns are ignored, and named on stderr.
Nothing is validated here beyond the header: the registry checks every row with the rules of
``POST /enterprises``.
"""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TextIO

import typer

from ikm_cli.output import stderr
from ikmkit import spreadsheet

REQUIRED_COLUMNS = ("nib", "name", "owner_name", "province", "regency", "kbli")
COLUMNS = (
    "nib", "name", "legal_form", "owner_name", "owner_nik", "owner_phone", "owner_email",
    "preferred_language", "street", "postal_code", "province", "regency", "kbli", "workforce",
    "investment_rupiah", "products", "campaigns", "marketplace_stores",
)  # fmt: skip
LISTS = ("products", "campaigns")
NUMBERS = ("workforce", "investment_rupiah")
ERROR_REPORT_COLUMNS = ("row", "nib", "field", "rule", "message")


class MissingColumns(ValueError):
    def __init__(self, missing: list[str]) -> None:
        super().__init__(f"the CSV header lacks columns: {', '.join(missing)}")
        self.missing = missing


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based data row number in the file (the header is not counted)
    nib: str
    field: str
    rule: str
    message: str


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(";") if part.strip()]


def _stores(value: str) -> list[dict[str, str]]:
    stores = []
    for part in _split(value):
        platform, _, url = part.partition("=")
        stores.append({"platform": platform.strip(), "shop_url": url.strip()})
    return stores


def number(value: str, thousands: str | None = None) -> int | str:
    """A cell of a number column: its number if it is ASCII digits, or digits grouped by three
    with the file's ``thousands`` separator (``1.500.000``: Excel writes a cell as it shows
    it); else the text as written, for the registry to name the rule as it does over HTTP
    (``str.isdigit`` takes fullwidth digits, read as a number here only, and ``²``, which
    ``int`` refuses: a traceback)."""
    if thousands and thousands in value and _GROUPED[thousands].fullmatch(value):
        value = value.replace(thousands, "")
    return int(value) if value.isascii() and value.isdigit() else value


_GROUPED = {sep: re.compile(rf"[0-9]{{1,3}}(?:{re.escape(sep)}[0-9]{{3}})+") for sep in ".,"}
THOUSANDS = {";": ".", ",": ","}
"""The thousands separator of a file by its cell separator: ``;`` is Excel's where the comma
is the decimal separator (Indonesian settings), which then groups thousands with ``.``. A tab
says nothing of the locale: no grouping is read there."""


def thousands_of(reader: csv.DictReader[str]) -> str | None:
    return THOUSANDS.get(str(reader.reader.dialect.delimiter))


def to_row(cells: dict[str | None, str | None], thousands: str | None = None) -> dict[str, Any]:
    """One CSV record as one request row: known columns, empty cells left out; ``thousands``:
    the file's thousands separator (``thousands_of``)."""
    row: dict[str, Any] = {}
    for column in COLUMNS:
        value = (cells.get(column) or "").strip()
        if not value:
            continue
        if column in LISTS:
            row[column] = _split(value)
        elif column == "marketplace_stores":
            row[column] = _stores(value)
        elif column in NUMBERS:
            row[column] = number(value, thousands)
        else:
            row[column] = value
    return row


DELIMITERS = (",", ";", "\t")


def delimiter_of(header: str) -> str:
    """The cell separator of a file by its header line: ``,``, or ``;`` as Excel writes CSV
    where the comma is the decimal separator (Indonesian settings), or a tab; the one found
    most often outside quotes (a comma on a tie or none)."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in header:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    return max(DELIMITERS, key=lambda d: (counts[d], d == ","))


def dict_reader(handle: TextIO, columns: Iterable[str]) -> csv.DictReader[str]:
    """A ``csv.DictReader`` of the file with the separator its header line uses; column names
    are read without case or surrounding spaces (``NIB``, `` name `` are ``nib``, ``name``).
    A column not among ``columns``, those the import reads, is named on stderr: a misspelled
    header (``owner_emial``) would otherwise be dropped without a word."""
    header = handle.readline()
    reader = csv.DictReader(itertools.chain([header], handle), delimiter=delimiter_of(header))
    if reader.fieldnames is not None:
        reader.fieldnames = [name.strip().lower() for name in reader.fieldnames]
        read = set(columns)
        ignored = [name for name in reader.fieldnames if name and name not in read]
        if ignored:
            stderr().print(
                f"ignored columns (this import does not read them): {', '.join(ignored)}",
                markup=False,
            )
    return reader


UTF8 = "utf-8-sig"
"""How import files are read unless told: UTF-8, with or without Excel's byte-order mark."""


def undecodable(name: str, encoding: str, error: UnicodeDecodeError) -> str:
    """What to tell an officer whose file is not text in ``encoding`` (UTF-8 unless told)."""
    shown = "UTF-8" if encoding == UTF8 else encoding
    return (
        f"{name} is not {shown} text (byte {error.object[error.start : error.end]!r} at offset"
        f" {error.start}): save it from Excel as 'CSV UTF-8', or name its encoding, e.g."
        " --encoding cp1252"
    )


def check_encoding(name: str) -> str:
    """An ``--encoding`` option's value: a codec Python knows."""
    import codecs

    try:
        codecs.lookup(name)
    except LookupError:
        raise typer.BadParameter(f"unknown encoding {name!r}", param_hint="--encoding") from None
    return name


EncodingOption = Annotated[
    str,
    typer.Option(
        callback=check_encoding,
        help="The file's encoding: UTF-8 (with or without BOM) unless told, e.g. cp1252.",
    ),
]


def read_rows(handle: TextIO) -> Iterator[dict[str, Any]]:
    """The file's rows; ``MissingColumns`` (before any row) if a required column is absent."""
    reader = dict_reader(handle, COLUMNS)
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise MissingColumns(missing)
    thousands = thousands_of(reader)
    for cells in reader:
        yield to_row(cells, thousands)


def batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[tuple[int, list[Any]]]:
    """``(rows before this batch, batch)`` for consecutive batches of ``size`` rows."""
    batch: list[dict[str, Any]] = []
    done = 0
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield done, batch
            done += len(batch)
            batch = []
    if batch:
        yield done, batch


def row_errors(result: dict[str, Any], row: int, key: str = "nib") -> list[RowError]:
    """The errors of one rejected row of a response, numbered as the file's ``row``; ``key``
    names the row's record (``nib``; ``partner_id``, ``mou_id`` in the other imports)."""
    nib = str(result.get(key) or "")
    return [
        RowError(row, nib, e.get("field") or "", e.get("rule") or "", e.get("message") or "")
        for e in result.get("errors", [])
    ]


def write_error_report(errors: Iterable[RowError], handle: TextIO, key: str = "nib") -> None:
    writer = csv.writer(handle)
    writer.writerow((ERROR_REPORT_COLUMNS[0], key, *ERROR_REPORT_COLUMNS[2:]))
    for e in errors:
        writer.writerow(spreadsheet.row([e.row, e.nib, e.field, e.rule, e.message]))
