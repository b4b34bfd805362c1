"""One masking rule per kind of personal data (``contracts.privacy``), table-driven."""

from __future__ import annotations

import pytest

from contracts.privacy import (
    REDACTED,
    field_kind,
    mask,
    mask_bank_account,
    mask_email,
    mask_name,
    mask_nik,
    mask_npwp,
    mask_phone,
    scrub_text,
)


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("3201011508950001", "3201********0001"),
        ("3201-0115-0895-0001", "3201********0001"),
        ("12", REDACTED),  # too short to keep anything: a partial mask would reveal it all
        ("", ""),
    ],
)
def test_mask_nik(value: str, masked: str) -> None:
    assert mask_nik(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("01.234.567.8-901.000", "***********1000"),
        ("012345678901000", "***********1000"),
        ("0123456789012345", "************2345"),
        ("0123.4567.8901.2345", "************2345"),
        ("12345", REDACTED),
    ],
)
def test_mask_npwp(value: str, masked: str) -> None:
    assert mask_npwp(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("081234567890", "0812****7890"),
        ("0812-3456-7890", "0812****7890"),
        ("+62 812 3456 7890", "0812****7890"),  # one number, one masked form
        ("6281234567890", "0812****7890"),
        ("0812", REDACTED),
    ],
)
def test_mask_phone(value: str, masked: str) -> None:
    assert mask_phone(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("budi@example.id", "b***@example.id"),
        ("siti.aminah@mail.co.id", "s***@mail.co.id"),
        ("not-an-address", REDACTED),
        ("@example.id", REDACTED),
    ],
)
def test_mask_email(value: str, masked: str) -> None:
    assert mask_email(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("1234567890", "******7890"),
        ("123-456-7890", "******7890"),
        ("0012345678901", "*********8901"),
        ("1234567", REDACTED),
    ],
)
def test_mask_bank_account(value: str, masked: str) -> None:
    assert mask_bank_account(value) == masked


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("Budi", "B***"),
        ("Siti Aminah", "S*** A***"),
        ("  Sri  Rahayuningsih Wibisono ", "S*** R*** W***"),
        ("", ""),
    ],
)
def test_mask_name(value: str, masked: str) -> None:
    assert mask_name(value) == masked


@pytest.mark.parametrize(
    ("field", "kind"),
    [
        ("owner_nik", "nik"),
        ("npwp", "npwp"),
        ("phone", "phone"),
        ("owner_phone", "phone"),
        ("email", "email"),
        ("participant_email", "email"),
        ("contact_email", "email"),
        ("name", "name"),
        ("mentor_name", "name"),
        ("participant_name", "name"),
        ("bank_account", "bank_account"),
        ("nomor_rekening", "bank_account"),
        ("last_error", None),
    ],
)
def test_field_kind(field: str, kind: str | None) -> None:
    assert field_kind(field) == kind


def test_a_personal_value_of_unknown_kind_is_withheld() -> None:
    assert mask(None, "SMTP 550 for budi@example.id") == REDACTED
    assert mask("email", "budi@example.id") == mask_email("budi@example.id")


@pytest.mark.parametrize(
    ("text", "scrubbed"),
    [
        ("NIK 3201011508950001 ok", "NIK 3201********0001 ok"),
        ("npwp 01.234.567.8-901.000 ok", "npwp ***********1000 ok"),
        ("npwp 012345678901000 ok", "npwp ***********1000 ok"),
        ("npwp 0123456789012345 ok", "npwp ************2345 ok"),
        ("npwp 0123.4567.8901.2345 ok", "npwp ************2345 ok"),
        ("npwp 01-234-567-8-901-000", "npwp ***********1000"),
        ("rekening 1234567890 BCA", "rekening ******7890 BCA"),
        ("bank_account=123-456-7890;", "bank_account=******7890;"),
        ("transfer to account no. 0012345678901", "transfer to account no. *********8901"),
        ("hp 0812-3456-7890 / +62 812 3456 7890", "hp 0812****7890 / 0812****7890"),
        ("mail Budi.Santoso@example.com", "mail B***@example.com"),
        # Not personal data: NIBs, offsets, ids, timestamps stay readable.
        ("nib 1234567890123 offset 123456", "nib 1234567890123 offset 123456"),
        ("id 0b6f3e1c-1a2b-4c3d-8e9f-0123456789ab", "id 0b6f3e1c-1a2b-4c3d-8e9f-0123456789ab"),
        ("id 12345678-1234-1234-1234-123456789012", "id 12345678-1234-1234-1234-123456789012"),
        ("at 2026-12-01T13:43:30.123456+00:00", "at 2026-12-01T13:43:30.123456+00:00"),
    ],
)
def test_scrub_text(text: str, scrubbed: str) -> None:
    assert scrub_text(text) == scrubbed
