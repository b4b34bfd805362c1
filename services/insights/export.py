"""The export files: the rows of ``queries.export_rows`` as CSV or an XLSX workbook.

Values are numbers; every other cell is text and stays text when a spreadsheet opens it. A
place can come from an event's envelope (``ce_region``), so a cell beginning like a formula
is written as the platform's CSV reports write it (a leading ``'``, ``ikmkit/spreadsheet.py``)
and typed as text in the workbook (openpyxl would store ``=...`` as a formula)."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from ikmkit import spreadsheet
from services.insights.domain.reports import ExportRow
from services.insights.domain.tally import NONE

COLUMNS = ("indicator", "province", "regency", "month", "value")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cells(row: ExportRow) -> tuple[str, str, str, str, int]:
    return (row.indicator, row.province, row.regency, row.month, row.value)


def _csv_cell(value: str | int) -> str | int:
    return value if value == NONE else spreadsheet.cell(value)  # "-" (no place) is no formula


def to_csv(rows: Sequence[ExportRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([_csv_cell(c) for c in _cells(r)] for r in rows)
    return out.getvalue().encode()


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: str | int) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def to_xlsx(rows: Sequence[ExportRow]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("indicators")
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append([_xlsx_cell(sheet, c) for c in _cells(row)])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
