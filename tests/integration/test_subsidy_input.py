"""Subsidy input named rule by rule in one answer: a program's body is held to the program
rules on every field its request model accepted, as the registry's and training's bodies are,
and the rules read from the body all answer together (a time without its zone was answered
alone before, the other rules in a second round)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ikmkit.store.sqlite import SqliteStore
from services.subsidy.main import definition
from services.subsidy.settings import SubsidySettings
from tests.support.problems import rules_of
from tests.support.service import auth_headers, running_service
from tests.support.subsidy_api import MINISTRY, machine, program_body
from tests.support.values import random_nib


@pytest.fixture
async def client(kafka: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = SubsidySettings(kafka_bootstrap_servers=kafka)
    service = definition(settings, store=SqliteStore(tmp_path / "subsidy.db"))
    async with running_service(service) as running:
        yield running.client


BROKEN_TERMS = {
    "opens_at": "2026-03-01T08:00:00",  # no zone
    "cap_per_application_rupiah": 300_000_000,  # above the enterprise's 200 M
    "province_budgets": {"34": 100_000_000, "99": 5},
    "eligible_kbli_ranges": [{"from_kbli": "1", "to_kbli": "2"}],
}
BROKEN_TERMS_RULES = [
    ("opens_at", "invalid.timezone"),
    ("cap_per_application_rupiah", "invalid.not_above_enterprise_cap"),
    ("province_budgets.99", "invalid.province_unknown"),
    ("eligible_kbli_ranges[0]", "invalid.kbli_format"),
]


async def test_a_program_names_every_rule_its_terms_break_at_once(
    client: httpx.AsyncClient,
) -> None:
    body = program_body(fiscal_year=2026, closes_at="2026-04-01T00:00:00+07:00", **BROKEN_TERMS)
    assert rules_of(await client.post("/programs", json=body, headers=MINISTRY)) == (
        BROKEN_TERMS_RULES
    )


async def test_a_program_refused_by_its_model_is_held_to_the_program_rules_too(
    client: httpx.AsyncClient,
) -> None:
    """A kind and a name the request model refuses: the answer names them and the program
    rules the fields it accepted break. The share, whose default is the refused kind's, is not
    checked; a rule reading a refused field does not run."""
    body = program_body(
        kind="lathes",
        name="x",
        fiscal_year=2026,
        closes_at="2026-04-01T00:00:00+07:00",
        **BROKEN_TERMS,
    )
    assert rules_of(await client.post("/programs", json=body, headers=MINISTRY)) == [
        ("kind", "literal_error"),
        ("name", "string_too_short"),
        *BROKEN_TERMS_RULES,
    ]
    body = program_body(fiscal_year="year", opens_at="2025-06-01T00:00:00+07:00")
    assert rules_of(await client.post("/programs", json=body, headers=MINISTRY)) == [
        ("fiscal_year", "int_parsing"),
    ]


async def test_an_application_refused_by_its_model_is_held_to_the_invoice_rules_too(
    client: httpx.AsyncClient,
) -> None:
    """A NIB the request model refuses and invoice lines without a price: one answer names
    the NIB and every line. The rules that need the program and the enterprise (the line's
    kind, eligibility) wait for a body the model accepts."""
    owner = auth_headers("enterprise", nib=random_nib())
    for lines, line_rules in (
        ([machine(-5), machine(0)], [
            ("lines[0].price_rupiah", "invalid.positive"),
            ("lines[1].price_rupiah", "invalid.positive"),
        ]),
        ([], [("lines", "invalid.required")]),
    ):  # fmt: skip
        body = {"program_id": "prg-nope", "nib": "12345", "lines": lines}
        r = await client.post("/applications", json=body, headers=owner)
        assert rules_of(r) == [("nib", "invalid.nib_format"), *line_rules]


async def test_a_misspelled_optional_term_is_refused_not_defaulted(
    client: httpx.AsyncClient,
) -> None:
    """``eligible_directorate`` for ``eligible_directorates`` made a program open to every
    sector (the list's default), and ``?nib=`` for ``?enterprise=`` listed every
    application: both are named now."""
    body = program_body(eligible_directorate=["agro"])
    r = await client.post("/programs", json=body, headers=MINISTRY)
    assert rules_of(r) == [("eligible_directorate", "extra_forbidden")]
    r = await client.get("/applications", params={"nib": "9120000000001"}, headers=MINISTRY)
    assert rules_of(r) == [("nib", "extra_forbidden")]


async def test_an_application_to_an_unknown_program_names_its_lines_rules_too(
    client: httpx.AsyncClient,
) -> None:
    nib = random_nib()
    body = {"program_id": "prg-nope", "nib": nib, "lines": [machine(-5)]}
    r = await client.post("/applications", json=body, headers=auth_headers("enterprise", nib=nib))
    assert rules_of(r) == [
        ("program_id", "invalid.unknown_program"),
        ("lines[0].price_rupiah", "invalid.positive"),
    ]
