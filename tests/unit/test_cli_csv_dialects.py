"""Import files as officers save them (session 23 review): Excel set to Indonesian saves
"CSV" with ``;`` between cells (the decimal separator is the comma), with a byte-order mark
and CRLF line ends, and quotes cells holding the separator or a line break; a file saved in
a legacy code page is not UTF-8. Every import reads the first kind, and names the second
(exit 2, nothing sent) instead of failing with a traceback."""

from __future__ import annotations

import io
from pathlib import Path

from typer.testing import CliRunner

from ikm_cli.enterprise_csv import read_rows
from ikm_cli.link_csv import MOUS, PARTNERS
from ikm_cli.main import app
from ikm_cli.training import read_participants

EXCEL_ID = (
    "\ufeffnib;name;owner_name;province;regency;kbli;products\r\n"
    '1234567890123;"CV Maju; Jaya";"Siti\r\nAminah";32;3273;10792;"kursi;meja"\r\n'
    "1234567890124;Batik Ibu Dewi;Dewi;34;3471;13134;\r\n"
)


def test_an_excel_file_saved_in_indonesian_is_read_as_a_comma_one() -> None:
    rows = list(read_rows(io.StringIO(EXCEL_ID.removeprefix("\ufeff"), newline="")))
    assert rows == [
        {
            "nib": "1234567890123",
            "name": "CV Maju; Jaya",
            "owner_name": "Siti\r\nAminah",
            "province": "32",
            "regency": "3273",
            "kbli": "10792",
            "products": ["kursi", "meja"],
        },
        {
            "nib": "1234567890124",
            "name": "Batik Ibu Dewi",
            "owner_name": "Dewi",
            "province": "34",
            "regency": "3471",
            "kbli": "13134",
        },
    ]


def test_partner_mou_and_participant_files_with_semicolons_too(tmp_path: Path) -> None:
    partners = (
        "partner_id;name;partner_type;memberships\r\n"
        'smk-1;SMK N 2 Depok;vocational_school;"a;b"\r\n'
    )
    [partner] = list(PARTNERS.read_rows(io.StringIO(partners, newline="")))
    assert partner == {
        "partner_id": "smk-1",
        "name": "SMK N 2 Depok",
        "partner_type": "vocational_school",
        "memberships": ["a", "b"],
    }
    mous = (
        "title;scope;parties;valid_from;valid_until\n"
        'Link and match;vocational_link_and_match;"ministry:witness;smk-1;pt-astra";'
        "2026-01-01;2027-12-31\n"
    )
    [mou] = list(MOUS.read_rows(io.StringIO(mous)))
    assert mou["parties"] == [
        {"partner_id": "ministry", "role": "witness"},
        {"partner_id": "smk-1"},
        {"partner_id": "pt-astra"},
    ]
    file = tmp_path / "peserta.csv"
    file.write_bytes("\ufeffname;email;country\r\nAni;ani@example.id;ID\r\n".encode())
    assert list(read_participants(file)) == [
        {"name": "Ani", "email": "ani@example.id", "country": "ID"}
    ]


def test_a_file_that_is_not_utf8_is_named_and_nothing_is_sent(tmp_path: Path) -> None:
    file = tmp_path / "ikm.csv"
    file.write_bytes(b"nib,name,owner_name,province,regency,kbli\n1,Caf\xe9,S,32,3273,10792\n")
    env = {"IKM_REGISTRY_URL": "http://127.0.0.1:9", "IKM_TRAINING_URL": "http://127.0.0.1:9"}
    for args in (["registry", "import", str(file)], ["training", "enroll", "c-1", str(file)]):
        result = CliRunner().invoke(app, args, env=env)
        assert result.exit_code == 2, (args, result.output, repr(result.exception))
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "not UTF-8" in result.output and "--encoding cp1252" in result.output, args
        assert "Traceback" not in result.output
    legacy = CliRunner().invoke(
        app, ["registry", "import", str(file), "--encoding", "cp1252"], env=env
    )
    assert "cannot reach http://127.0.0.1:9" in legacy.output  # read, then sent


def test_the_excel_file_passes_the_header_check_of_the_command(tmp_path: Path) -> None:
    """BOM, ``;`` and CRLF through ``ikm registry import`` itself: the rows are read and sent
    (here to no server: the refusal named is the connection's, not the header's)."""
    file = tmp_path / "ikm.csv"
    file.write_bytes(EXCEL_ID.encode())
    result = CliRunner().invoke(
        app, ["registry", "import", str(file)], env={"IKM_REGISTRY_URL": "http://127.0.0.1:9"}
    )
    assert result.exit_code == 1, result.output
    assert "cannot reach http://127.0.0.1:9" in result.output
    assert "lacks columns" not in result.output


def test_column_names_are_read_without_case_or_spaces() -> None:
    """Headers typed by hand: ``NIB``, `` Name ``, ``KBLI``."""
    text = (
        "NIB; Name ;Owner_Name;PROVINCE;Regency;KBLI\r\n"
        "1234567890123;CV Maju;Budi;34;3471;29300\r\n"
    )
    [row] = list(read_rows(io.StringIO(text, newline="")))
    assert row == {"nib": "1234567890123", "name": "CV Maju", "owner_name": "Budi",
                   "province": "34", "regency": "3471", "kbli": "29300"}  # fmt: skip


def test_numbers_with_the_thousands_separator_of_the_file_are_numbers() -> None:
    """Excel writes a number cell as it shows it: a rupiah column formatted with separators is
    ``1.500.000.000`` in a file saved in Indonesian (``;`` between cells, ``.`` between thousands)
    and ``"1,500,000,000"`` in one saved in English. Each is the number; anything else (a
    decimal, groups not of three, the other locale's separator) stays text, for the registry to
    refuse by its rule as before."""
    indonesian = (
        "nib;name;owner_name;province;regency;kbli;workforce;investment_rupiah\r\n"
        "1234567890123;CV Maju;Budi;34;3471;29300;1.250;1.500.000.000\r\n"
        "1234567890124;CV Jaya;Ani;34;3471;29300;1,5;1.50.000\r\n"
        "1234567890125;CV Baru;Eko;34;3471;29300;12;1,500,000\r\n"
    )
    rows = list(read_rows(io.StringIO(indonesian, newline="")))
    assert [(r["workforce"], r["investment_rupiah"]) for r in rows] == [
        (1250, 1_500_000_000),
        ("1,5", "1.50.000"),
        (12, "1,500,000"),
    ]
    english = (
        "nib,name,owner_name,province,regency,kbli,workforce,investment_rupiah\n"
        '1234567890123,CV Maju,Budi,34,3471,29300,"1,250","1,500,000,000"\n'
        "1234567890124,CV Jaya,Ani,34,3471,29300,1.250,1.500.000\n"
    )
    rows = list(read_rows(io.StringIO(english)))
    assert [(r["workforce"], r["investment_rupiah"]) for r in rows] == [
        (1250, 1_500_000_000),
        ("1.250", "1.500.000"),
    ]
    partners = (
        "partner_id;name;partner_type;member_count\r\npii-bkti;PII BKTI;association;1.290\r\n"
    )
    [partner] = list(PARTNERS.read_rows(io.StringIO(partners, newline="")))
    assert partner["member_count"] == 1290


def test_a_column_no_import_reads_is_named_before_the_rows(tmp_path: Path) -> None:
    """A misspelled header (``owner_emial``) was dropped without a word, and every owner
    imported without an e-mail; a column the import does not read is now named on stderr
    (the file is still imported: spreadsheets carry notes and row numbers)."""
    text = "nib;name;owner_name;owner_emial;province;regency;kbli;catatan\r\n"
    text += "1234567890123;CV Maju;Budi;budi@example.id;34;3471;29300;baru\r\n"
    file = tmp_path / "ikm.csv"
    file.write_text(text)
    result = CliRunner().invoke(
        app, ["registry", "import", str(file)], env={"IKM_REGISTRY_URL": "http://127.0.0.1:9"}
    )
    assert "ignored columns (this import does not read them): owner_emial, catatan" in (
        result.output
    )
    participants = tmp_path / "peserta.csv"
    participants.write_text("name;kind;emial\r\nAna;civil_servant;ana@example.tl\r\n")
    result = CliRunner().invoke(
        app,
        ["training", "enroll", "KSST-1", str(participants)],
        env={"IKM_TRAINING_URL": "http://127.0.0.1:9"},
    )
    assert "ignored columns (this import does not read them): emial" in result.output
