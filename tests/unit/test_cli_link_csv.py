"""CSV rows as the rows of ``POST /partners/import`` and ``POST /mous/import``."""

from __future__ import annotations

import io

import pytest

from ikm_cli.enterprise_csv import MissingColumns, row_errors, write_error_report
from ikm_cli.link_csv import MOUS, PARTNERS


def test_a_partner_row_keeps_its_cells_splits_memberships_and_reads_the_member_count() -> None:
    text = (
        "partner_id,name,partner_type,country,province,regency,contact_email,"
        "preferred_language,memberships,member_count,notes\n"
        "pii-bkti, PII BKTI ,association,ID,31,,info@bkti.id,,colombo_plan; apec ,290,x\n"
        "smk-1,SMK 1,vocational_school,,34,3404,,,,lots,\n"
    )
    bkti, smk = list(PARTNERS.read_rows(io.StringIO(text)))
    assert bkti == {
        "partner_id": "pii-bkti",
        "name": "PII BKTI",
        "partner_type": "association",
        "country": "ID",
        "province": "31",
        "contact_email": "info@bkti.id",
        "memberships": ["colombo_plan", "apec"],
        "member_count": 290,
    }
    assert smk["member_count"] == "lots"  # sent as written: the registry names the rule


def test_an_mou_row_names_its_parties_by_partner_id_with_their_roles() -> None:
    text = (
        "mou_id,title,scope,parties,valid_from,valid_until,signed_on,document_ref,province\n"
        ",Link and match,vocational_link_and_match,ministry:witness; smk-1 ;pt-astra,"
        "2025-01-01,2027-12-31,2025-01-02,NK/7,34\n"
    )
    [row] = list(MOUS.read_rows(io.StringIO(text)))
    assert row == {
        "title": "Link and match",
        "scope": "vocational_link_and_match",
        "parties": [
            {"partner_id": "ministry", "role": "witness"},
            {"partner_id": "smk-1"},
            {"partner_id": "pt-astra"},
        ],
        "valid_from": "2025-01-01",
        "valid_until": "2027-12-31",
        "signed_on": "2025-01-02",
        "document_ref": "NK/7",
        "province": "34",
    }


def test_missing_required_columns_are_refused_before_any_row() -> None:
    with pytest.raises(MissingColumns) as refused:
        next(MOUS.read_rows(io.StringIO("title,scope\nx,training\n")))
    assert refused.value.missing == ["parties", "valid_from", "valid_until"]
    with pytest.raises(MissingColumns):
        next(PARTNERS.read_rows(io.StringIO("name\nx\n")))


def test_the_error_report_is_keyed_by_the_record_of_the_import() -> None:
    result = {
        "index": 0,
        "partner_id": "Bad Id",
        "status": "rejected",
        "errors": [{"field": "partner_id", "rule": "partner_id_format", "message": "m"}],
    }
    errors = row_errors(result, row=3, key="partner_id")
    out = io.StringIO()
    write_error_report(errors, out, key="partner_id")
    assert out.getvalue().splitlines() == [
        "row,partner_id,field,rule,message",
        "3,Bad Id,partner_id,partner_id_format,m",
    ]


def test_a_member_count_is_a_number_only_in_ascii_digits() -> None:
    text = "partner_id,name,partner_type,member_count\na,A,association,²\nb,B,association,٢٩٠\n"
    assert [r["member_count"] for r in PARTNERS.read_rows(io.StringIO(text))] == ["²", "٢٩٠"]
