"""Names that display as other names: a bidirectional override (U+202E reverses what follows
on screen) or a zero-width character in an enterprise's or a partner's name, and control
characters in a partner's memberships, were stored and shown in officers' lists, exports and
e-mails. They are refused, with the field and the rule named, alike in one request and in an
import row (that row only)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ikmkit.store.sqlite import SqliteStore
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from tests.support.registry_api import MINISTRY, enterprise_body, new_partner_id
from tests.support.service import RunningService, running_service

SPOOFS = [
    ("CV Maju\u202eayaJ", "bidi_control"),  # shows as "CV MajuJaya"
    ("CV Maju\u2066Jaya\u2069", "bidi_control"),
    ("PT\u200bSentosa", "zero_width_character"),
    ("PT Sentosa\ufeff", "zero_width_character"),
    ("PT\u2060Sentosa", "zero_width_character"),
]


@pytest.fixture
async def registry(kafka: str, tmp_path: Path) -> AsyncIterator[RunningService]:
    store = SqliteStore(tmp_path / "registry.db")
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    async with running_service(definition(settings, store=store)) as service:
        yield service


def partner_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "partner_id": new_partner_id(),
        "name": "Politeknik ATMI",
        "partner_type": "vocational_school",
    }
    return {**body, **overrides}


def rules_of(answer: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["field"], e["rule"]) for e in answer["errors"]]


@pytest.mark.parametrize(("name", "rule"), SPOOFS)
async def test_a_name_that_displays_as_another_is_refused(
    registry: RunningService, name: str, rule: str
) -> None:
    client = registry.client
    r = await client.post("/enterprises", json=enterprise_body(name=name), headers=MINISTRY)
    assert r.status_code == 422, r.text[:300]
    assert rules_of(r.json()) == [("name", f"invalid.{rule}")]
    r = await client.post("/partners", json=partner_body(name=name), headers=MINISTRY)
    assert r.status_code == 422, r.text[:300]
    assert rules_of(r.json()) == [("name", f"invalid.{rule}")]


async def test_memberships_hold_no_control_or_invisible_character(
    registry: RunningService,
) -> None:
    client = registry.client
    body = partner_body(memberships=["colombo_plan", "apo\x1b[31m", "asean\u200b"])
    r = await client.post("/partners", json=body, headers=MINISTRY)
    assert r.status_code == 422, r.text[:300]
    assert rules_of(r.json()) == [
        ("memberships[1]", "invalid.control_character"),
        ("memberships[2]", "invalid.zero_width_character"),
    ]
    fine = partner_body(memberships=["colombo_plan"])
    assert (await client.post("/partners", json=fine, headers=MINISTRY)).status_code == 201


async def test_an_import_row_naming_a_spoof_is_that_rows_rejection_only(
    registry: RunningService,
) -> None:
    client = registry.client
    rows = [enterprise_body(name="CV Maju\u202eayaJ"), enterprise_body()]
    r = await client.post("/enterprises/import", json={"rows": rows}, headers=MINISTRY)
    assert r.status_code == 200, r.text[:300]
    first, second = r.json()["results"]
    assert (first["status"], second["status"]) == ("rejected", "imported")
    assert rules_of(first) == [("name", "bidi_control")]
    partners = [
        partner_body(name="PT\u200bSentosa"),
        partner_body(memberships=["apo\x00"]),
        partner_body(),
    ]
    r = await client.post("/partners/import", json={"rows": partners}, headers=MINISTRY)
    assert r.status_code == 200, r.text[:300]
    results = r.json()["results"]
    assert [p["status"] for p in results] == ["rejected", "rejected", "imported"]
    assert rules_of(results[0]) == [("name", "zero_width_character")]
    assert rules_of(results[1]) == [("memberships[0]", "control_character")]
