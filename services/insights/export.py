"""The export files: the rows of ``queries.export_rows`` as CSV or an XLSX workbook."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from openpyxl import Workbook

from services.insights.domain.reports import ExportRow

COLUMNS = ("indicator", "province", "regency", "month", "value")
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _cells(row: ExportRow) -> tuple[str, str, str, str, int]:
    return (row.indicator, row.province, row.regency, row.month, row.value)


def to_csv(rows: Sequence[ExportRow]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(_cells(r) for r in rows)
    return out.getvalue().encode()


def to_xlsx(rows: Sequence[ExportRow]) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet("indicators")
    sheet.append(list(COLUMNS))
    for row in rows:
        sheet.append(list(_cells(row)))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
