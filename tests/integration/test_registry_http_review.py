"""Registry HTTP inputs an adversarial review found answered wrongly (session 22): a second
spelling of a registered NIB, and a PATCH that sets a required field to null."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from ikmkit.store.sqlite import SqliteStore
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from tests.support.registry_api import MINISTRY, enterprise_body, mou_body, new_partner_id
from tests.support.service import RunningService, auth_headers, running_service
from tests.support.values import random_nib


@pytest.fixture
async def registry(kafka: str, tmp_path: Path) -> AsyncIterator[RunningService]:
    store = SqliteStore(tmp_path / "registry.db")
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    async with running_service(definition(settings, store=store)) as service:
        yield service


async def register(client: httpx.AsyncClient, nib: str) -> None:
    response = await client.post("/enterprises", json=enterprise_body(nib), headers=MINISTRY)
    assert response.status_code == 201, response.text


def rules_of(answer: dict[str, object]) -> dict[str, str]:
    errors = answer["errors"]
    assert isinstance(errors, list)
    return {e["field"]: e["rule"] for e in errors}


async def test_a_registered_nib_spelled_with_a_newline_or_other_digits_is_refused(
    registry: RunningService,
) -> None:
    client, nib = registry.client, random_nib()
    await register(client, nib)
    fullwidth = "".join(chr(ord(d) + 0xFEE0) for d in nib)
    for spelled in (nib + "\n", fullwidth):
        response = await client.post(
            "/enterprises", json=enterprise_body(spelled), headers=MINISTRY
        )
        assert response.status_code == 422, (repr(spelled), response.text)
        assert rules_of(response.json()) == {"nib": "invalid.nib_format"}
    listed = await client.get("/enterprises", headers=MINISTRY)
    assert [e["nib"] for e in listed.json()["items"]] == [nib]


async def test_a_patch_setting_required_fields_to_null_names_each_and_changes_nothing(
    registry: RunningService,
) -> None:
    client, nib = registry.client, random_nib()
    await register(client, nib)
    nulls = {"name": None, "province": None, "workforce": None, "products": None}
    response = await client.patch(
        f"/enterprises/{nib}", json={"version": 1, **nulls}, headers=MINISTRY
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert rules_of(response.json()) == {name: "invalid.required" for name in nulls}
    unchanged = (await client.get(f"/enterprises/{nib}", headers=MINISTRY)).json()
    assert (unchanged["version"], unchanged["name"]) == (1, "CV Maju Logam")


async def test_a_patch_may_clear_the_optional_contact_fields_with_null(
    registry: RunningService,
) -> None:
    client, nib = registry.client, random_nib()
    await register(client, nib)
    cleared = {"owner_phone": None, "owner_email": None, "postal_code": None}
    response = await client.patch(
        f"/enterprises/{nib}", json={"version": 1, **cleared}, headers=MINISTRY
    )
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in cleared} == cleared


def cursor_of(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


async def test_a_tampered_cursor_holding_objects_or_lists_is_a_422(
    registry: RunningService,
) -> None:
    client = registry.client
    await register(client, random_nib())
    for path in ("/enterprises", "/partners", "/mous", "/enterprises?campaign=Promo"):
        for values in ([{"nib": "1"}], [[1, 2]], [10**30]):
            r = await client.get(path, params={"cursor": cursor_of(values)}, headers=MINISTRY)
            assert r.status_code == 422, (path, values, r.text[:300])
            [error] = r.json()["errors"]
            assert (error["parameter"], error["rule"]) == ("cursor", "invalid.cursor")


@pytest.mark.parametrize(
    "caller",
    [
        auth_headers("enterprise", nib="9999999999999"),
        auth_headers("partner", partner_id="p-1"),
        auth_headers("service"),
    ],
    ids=["enterprise", "partner", "service"],
)
async def test_a_role_that_may_not_act_learns_nothing_of_which_nibs_exist(
    registry: RunningService, caller: dict[str, str]
) -> None:
    """A role no enterprise action is for gets one answer whether the NIB is registered or
    not (as a regional officer of another province gets one 404): no existence oracle."""
    client, nib, missing = registry.client, random_nib(), random_nib()
    await register(client, nib)
    actions = [
        ("POST", "/enterprises/{}/verify", None),
        ("POST", "/enterprises/{}/suspend", {"reason": "probe"}),
        ("POST", "/enterprises/{}/reinstate", {"reason": "probe"}),
        ("PATCH", "/enterprises/{}", {"version": 1, "name": "x"}),
    ]
    for method, path, body in actions:
        answers = []
        for target in (nib, missing):
            r = await client.request(method, path.format(target), json=body, headers=caller)
            answers.append((r.status_code, r.json()["rule"]))
        assert answers[0] == answers[1], (method, path, answers)


async def test_a_partner_reading_an_enterprise_gets_one_answer_registered_or_not(
    registry: RunningService,
) -> None:
    client, nib, missing = registry.client, random_nib(), random_nib()
    await register(client, nib)
    partner = auth_headers("partner", partner_id="p-1")
    answers = []
    for target in (nib, missing):
        r = await client.get(f"/enterprises/{target}", headers=partner)
        answers.append((r.status_code, r.json()["rule"]))
    assert answers == [(403, "forbidden")] * 2


async def test_roles_no_mou_is_for_get_one_answer_whether_it_exists(
    registry: RunningService,
) -> None:
    client, partner_id = registry.client, new_partner_id()
    partner = {"partner_id": partner_id, "name": "PII BKTI", "partner_type": "association"}
    assert (await client.post("/partners", json=partner, headers=MINISTRY)).status_code == 201
    mou = await client.post("/mous", json=mou_body(partner_id), headers=MINISTRY)
    assert mou.status_code == 201, mou.text
    mou_id = mou.json()["mou_id"]
    enterprise = auth_headers("enterprise", nib="9999999999999")
    probes = [
        ("GET", "/mous/{}", None, enterprise),
        ("POST", "/mous/{}/terminate", {"reason": "probe"}, auth_headers("service")),
        (
            "POST",
            "/mous/{}/terminate",
            {"reason": "probe"},
            auth_headers("regional", province="34"),
        ),
    ]
    for method, path, body, caller in probes:
        answers = []
        for target in (mou_id, "mou-missing"):
            r = await client.request(method, path.format(target), json=body, headers=caller)
            answers.append((r.status_code, r.json()["rule"]))
        assert answers == [(403, "forbidden")] * 2, (method, path, answers)


async def test_an_mou_draft_names_every_broken_term_and_its_dates_lie_in_the_platforms_years(
    registry: RunningService,
) -> None:
    client, partner_id = registry.client, new_partner_id()
    partner = {"partner_id": partner_id, "name": "PII BKTI", "partner_type": "association"}
    assert (await client.post("/partners", json=partner, headers=MINISTRY)).status_code == 201
    body = mou_body(partner_id, partner_id, valid_from="0001-01-01", valid_until="9999-12-31")
    r = await client.post(
        "/mous", json={**body, "province": "34", "regency": "3273"}, headers=MINISTRY
    )
    assert r.status_code == 422, r.text[:300]
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [
        ("parties", "invalid.duplicate_party"),
        ("valid_from", "invalid.date_out_of_range"),
        ("valid_until", "invalid.date_out_of_range"),
        ("regency", "invalid.regency_not_in_province"),
    ]
    draft = await client.post("/mous", json=mou_body(partner_id), headers=MINISTRY)
    mou_id = draft.json()["mou_id"]
    signed = await client.post(
        f"/mous/{mou_id}/sign", json={"signed_on": "1900-01-01"}, headers=MINISTRY
    )
    assert signed.status_code == 422, signed.text[:300]
    assert [(e["field"], e["rule"]) for e in signed.json()["errors"]] == [
        ("signed_on", "invalid.date_out_of_range")
    ]


async def test_names_and_texts_holding_control_characters_are_refused_naming_each(
    registry: RunningService,
) -> None:
    """A NUL, an escape sequence (a terminal's or a log viewer's), DEL or a C1 control in a
    name or a free text is no one's name: refused, each field named (it was stored and sent on
    in events and e-mails, where SMTP refuses a NUL). Line breaks and tabs stay allowed."""
    client = registry.client
    body = enterprise_body(
        name="CV\x00Maju", owner_name="Budi \x1b[31mSantoso", street="Jl. Malioboro\x7f 1"
    )
    r = await client.post("/enterprises", json=body, headers=MINISTRY)
    assert r.status_code == 422, r.text[:300]
    assert rules_of(r.json()) == {
        "name": "invalid.control_character",
        "owner_name": "invalid.control_character",
        "street": "invalid.control_character",
    }
    assert "\\u0000" not in r.text and "Santoso" not in r.text
    fine = enterprise_body(street="Jl. Malioboro 1\nRT 02\tRW 03", name="CV Maju\u0085")
    assert (await client.post("/enterprises", json=fine, headers=MINISTRY)).status_code == 422
    fine["name"] = "CV Maju Logam"
    assert (await client.post("/enterprises", json=fine, headers=MINISTRY)).status_code == 201


async def test_an_import_row_with_control_characters_is_that_rows_rejection_only(
    registry: RunningService,
) -> None:
    client, good = registry.client, random_nib()
    rows = [enterprise_body(owner_name="Budi\x00"), enterprise_body(good)]
    r = await client.post("/enterprises/import", json={"rows": rows}, headers=MINISTRY)
    assert r.status_code == 200, r.text[:300]
    first, second = r.json()["results"]
    assert (first["status"], second["status"]) == ("rejected", "imported")
    assert [(e["field"], e["rule"]) for e in first["errors"]] == [
        ("owner_name", "control_character")
    ]
