"""The export files as a spreadsheet opens them: figures are numbers, every text cell stays
text. A place comes from an event's envelope (``ce_region``) for notifications, so a cell
beginning like a formula must not become one (OWASP "CSV injection"): CSV cells get the
platform's leading ``'`` (``ikmkit/spreadsheet.py``), XLSX cells are typed as text."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from services.insights import export
from services.insights.domain.reports import ExportRow

ROWS = [
    ExportRow(indicator="enterprises.registered", province="32", regency="3273", month="2026-03",
              value=1_234_567),
    ExportRow(indicator="notifications.delivered", province='=HYPERLINK("http://x","y")',
              regency="-", month="2026-04", value=2),
    ExportRow(indicator="notifications.dead", province="@SUM(A1)", regency="+1", month="2026-04",
              value=1),
]  # fmt: skip


def test_xlsx_cells_are_numbers_and_text_never_formulas() -> None:
    sheet = load_workbook(io.BytesIO(export.to_xlsx(ROWS))).active
    assert sheet is not None
    cells = list(sheet.iter_rows(min_row=2))
    assert [c.data_type for c in cells[0]] == ["s", "s", "s", "s", "n"]
    assert cells[0][4].value == 1_234_567
    for row in cells[1:]:
        assert [c.data_type for c in row[:4]] == ["s"] * 4
    assert cells[1][1].value == '=HYPERLINK("http://x","y")'  # shown as written, as text
    assert (cells[1][2].value, cells[2][2].value) == ("-", "+1")


def test_csv_text_that_begins_like_a_formula_is_quoted_as_text() -> None:
    rows = list(csv.reader(io.StringIO(export.to_csv(ROWS).decode())))
    assert rows[1] == ["enterprises.registered", "32", "3273", "2026-03", "1234567"]
    assert rows[2][1:3] == ['\'=HYPERLINK("http://x","y")', "-"]  # "-": no place, as before
    assert rows[3][1:3] == ["'@SUM(A1)", "'+1"]
