"""CSV rows as the rows of ``POST /enterprises/import``; batches; the error report."""

from __future__ import annotations

import io

import pytest

from ikm_cli.enterprise_csv import (
    MissingColumns,
    RowError,
    batches,
    read_rows,
    row_errors,
    write_error_report,
)

HEADER = (
    "nib,name,legal_form,owner_name,owner_nik,owner_phone,owner_email,preferred_language,"
    "street,postal_code,province,regency,kbli,workforce,investment_rupiah,products,campaigns,"
    "marketplace_stores,notes\n"
)


def test_a_row_keeps_its_cells_splits_lists_and_leaves_empty_cells_out() -> None:
    text = HEADER + (
        "1234567890123, CV Maju ,,Budi,,,budi@example.id,id,,,34,3471,29300,12,5x,"
        "kursi; meja ;,halal,tokopedia=https://t.id/maju;shopee = https://s.id/maju,ignored\n"
    )
    [row] = list(read_rows(io.StringIO(text)))
    assert row == {
        "nib": "1234567890123",
        "name": "CV Maju",
        "owner_name": "Budi",
        "owner_email": "budi@example.id",
        "preferred_language": "id",
        "province": "34",
        "regency": "3471",
        "kbli": "29300",
        "workforce": 12,
        "investment_rupiah": "5x",  # not a number: sent as written, the registry names the rule
        "products": ["kursi", "meja"],
        "campaigns": ["halal"],
        "marketplace_stores": [
            {"platform": "tokopedia", "shop_url": "https://t.id/maju"},
            {"platform": "shopee", "shop_url": "https://s.id/maju"},
        ],
    }


def test_a_missing_required_column_is_refused_before_any_row() -> None:
    rows = read_rows(io.StringIO("nib,name,province\n1234567890123,CV,34\n"))
    with pytest.raises(MissingColumns) as refused:
        next(rows)
    assert refused.value.missing == ["owner_name", "regency", "kbli"]
    assert "owner_name, regency, kbli" in str(refused.value)


def test_batches_count_the_rows_before_them() -> None:
    rows = [{"nib": str(n)} for n in range(5)]
    assert [(before, len(batch)) for before, batch in batches(rows, 2)] == [(0, 2), (2, 2), (4, 1)]
    assert list(batches([], 2)) == []


def test_the_error_report_names_row_nib_field_rule_message() -> None:
    result = {
        "index": 1,
        "nib": "12345",
        "status": "rejected",
        "errors": [
            {"field": "nib", "rule": "nib_format", "message": "NIB must be exactly 13 digits"},
            {"field": "kbli", "rule": "kbli_format", "message": "KBLI, 5 digits"},
        ],
    }
    errors = row_errors(result, row=7)
    assert errors[0] == RowError(7, "12345", "nib", "nib_format", "NIB must be exactly 13 digits")
    out = io.StringIO()
    write_error_report(errors, out)
    assert out.getvalue().splitlines() == [
        "row,nib,field,rule,message",
        "7,12345,nib,nib_format,NIB must be exactly 13 digits",
        '7,12345,kbli,kbli_format,"KBLI, 5 digits"',
    ]


FULLWIDTH_20 = "\uff12\uff10"


def test_a_number_cell_is_a_number_only_in_ascii_digits() -> None:
    text = HEADER + f"1234567890123,CV,,Budi,,,,,,,34,3471,29300,²,{FULLWIDTH_20},,,,\n"
    # "²" was a ValueError traceback; fullwidth 20 was 20 here, though the registry refuses it.
    [row] = list(read_rows(io.StringIO(text)))
    assert (row["workforce"], row["investment_rupiah"]) == ("²", FULLWIDTH_20)
