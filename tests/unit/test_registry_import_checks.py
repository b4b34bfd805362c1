"""A bulk import checks each value once: the domain trusts what the request model's shared
value types already accepted, and still names every rule a rejected row breaks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

import contracts.values
from services.registry.commands import EnterpriseRow
from services.registry.handlers.imports import check_row

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ROW = {
    "nib": "1234567890123", "name": "CV Maju Logam", "legal_form": "CV",
    "owner_name": "Budi Santoso", "owner_nik": "3471010105900001",
    "owner_phone": "0812-3456-7890", "province": "34", "regency": "3471", "kbli": "29300",
    "workforce": 10, "investment_rupiah": 500_000_000,
}  # fmt: skip


@pytest.fixture
def email_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every address the platform's e-mail rule looked at."""
    seen: list[str] = []
    original: Callable[[str], str | None] = getattr(
        contracts.values, "plain_address", lambda _: None
    )

    def counting(text: str) -> str | None:
        seen.append(text)
        return original(text)

    monkeypatch.setattr(contracts.values, "plain_address", counting, raising=False)
    return seen


@pytest.mark.parametrize("email", ["budi@example.id", "Budi@Bücher.de"])
def test_an_accepted_row_checks_its_email_once(email_checks: list[str], email: str) -> None:
    registered, errors = check_row(EnterpriseRow.model_validate({**ROW, "owner_email": email}), AT)
    assert errors == [] and registered is not None
    assert registered.state.owner_email == email.lower().replace("bücher", "xn--bcher-kva")
    assert email_checks == [email]


def test_a_rejected_row_names_every_rule() -> None:
    row = {**ROW, "owner_email": "budi@example.id", "nib": "12", "kbli": "47111", "regency": "3374"}
    registered, errors = check_row(EnterpriseRow.model_validate(row), AT)
    assert registered is None
    assert {(e.field, e.rule) for e in errors} == {
        ("nib", "nib_format"),
        ("kbli", "kbli_not_manufacturing"),
        ("regency", "regency_not_in_province"),
    }


def test_a_broken_shared_value_is_named_once() -> None:
    row = {**ROW, "owner_email": "budi@", "province": "99", "kbli": "4711"}
    registered, errors = check_row(EnterpriseRow.model_validate(row), AT)
    assert registered is None
    assert sorted((e.field, e.rule) for e in errors) == [
        ("kbli", "kbli_format"),
        ("owner_email", "email_format"),
        ("province", "province_unknown"),
    ]
