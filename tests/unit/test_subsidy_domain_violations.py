"""Subsidy rules refusing input that breaks several rules at once: each broken rule is named
with its field (RFC 9457 problem details list them all)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ikmkit.service.errors import InvalidInput, InvalidInputs
from services.subsidy.domain import program_terms, rules
from services.subsidy.domain.model import Application, InvoiceLine
from services.subsidy.domain.programs import KbliRange
from tests.support.subsidy_samples import (
    NOW,
    enterprise,
    machine,
    program,
)


def named(err: pytest.ExceptionInfo[InvalidInput]) -> set[tuple[str | None, str | None]]:
    every = err.value.violations if isinstance(err.value, InvalidInputs) else [err.value]
    return {(v.field, v.rule) for v in every}


def test_a_program_breaking_several_rules_is_refused_naming_each() -> None:
    with pytest.raises(InvalidInput) as err:
        program_terms.check_program(
            program(
                share_percent=0,
                cap_per_enterprise_rupiah=0,
                fiscal_year=1900,
                closes_at=NOW - timedelta(days=20),
                province_budgets={"Aceh": 1, "11": -1},
                eligible_kbli_ranges=[
                    KbliRange(from_kbli="30000", to_kbli="25000"),
                    KbliRange(from_kbli="1", to_kbli="25000"),
                ],
            )
        )
    assert named(err) == {
        ("share_percent", "range"),
        ("cap_per_enterprise_rupiah", "positive"),
        ("cap_per_application_rupiah", "not_above_enterprise_cap"),
        ("fiscal_year", "range"),
        ("closes_at", "after_opens"),
        ("province_budgets.Aceh", "province_unknown"),
        ("province_budgets.11", "min_0"),
        ("eligible_kbli_ranges[0]", "order"),
        ("eligible_kbli_ranges[1]", "kbli_format"),
    }


def test_times_without_timezone_are_both_named() -> None:
    naive = datetime(2025, 3, 1)
    with pytest.raises(InvalidInput) as err:
        program_terms.check_times(naive, naive)
    assert named(err) == {("opens_at", "timezone"), ("closes_at", "timezone")}


def test_every_bad_invoice_line_is_named() -> None:
    fee = InvoiceLine(kind="certification_fee", description="TKDN", supplier="LVI", price_rupiah=0)
    with pytest.raises(InvalidInput) as err:
        rules.eligible_cost([machine(-1), fee, machine(5)], program())
    assert named(err) == {
        ("lines[0].price_rupiah", "positive"),
        ("lines[1].price_rupiah", "positive"),
        ("lines[1].kind", "line_kind"),
    }


def test_an_application_outside_the_window_from_an_unverified_enterprise_names_both() -> None:
    closed = program(closes_at=NOW - timedelta(days=1), opens_at=NOW - timedelta(days=5))
    with pytest.raises(InvalidInput) as err:
        Application.submit(closed, enterprise(status="registered"), [machine(0)], 0, "cv", NOW)
    assert named(err) == {
        ("program_id", "outside_window"),
        ("nib", "enterprise_not_verified"),
        ("lines[0].price_rupiah", "positive"),
    }
