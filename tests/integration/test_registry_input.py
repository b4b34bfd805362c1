"""Registry HTTP API in-process on the real broker and SQLite: bad input named field by field,
imports row by row, duplicates, concurrent updates, list filters and cursors, masking, MoU
input."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.registry_api import (
    MINISTRY,
    enterprise_body,
    mou_body,
    new_partner_id,
    registry_service,
)
from tests.support.service import RunningService, auth_headers
from tests.support.values import random_nib

registry = pytest.fixture(registry_service, scope="module", name="registry")


def error_of(response: Any) -> tuple[str, str]:
    """The first field error's field and rule (a problem's ``errors``)."""
    detail = response.json()["errors"][0]
    return detail["loc"][-1], detail["rule"]


BAD_ENTERPRISES = [
    ({"nib": "123456789012"}, "nib", "invalid.nib_format"),
    ({"owner_nik": "347101010590001"}, "owner_nik", "invalid.nik_length"),
    ({"owner_nik": "3471013205900001"}, "owner_nik", "invalid.nik_birth_date"),
    ({"owner_nik": "3499010105900001"}, "owner_nik", "invalid.nik_district"),
    ({"kbli": "47111"}, "kbli", "invalid.kbli_not_manufacturing"),
    ({"kbli": "291"}, "kbli", "invalid.kbli_format"),
    ({"province": "39"}, "province", "invalid.province_unknown"),
    ({"regency": "3273"}, "regency", "invalid.regency_not_in_province"),
    ({"owner_phone": "555"}, "owner_phone", "invalid.phone_format"),
    ({"owner_email": "budi-at-example"}, "owner_email", "invalid.email_format"),
    ({"legal_form": "LLC"}, "legal_form", "invalid.legal_form"),
    ({"workforce": -1}, "workforce", "invalid.non_negative"),
    (
        {"workforce": 500, "investment_rupiah": 50_000_000_000},
        "investment_rupiah",
        "invalid.not_ikm",
    ),
    (
        {"marketplace_stores": [{"platform": "shopee", "shop_url": "maju"}]},
        "marketplace_stores",
        "invalid.url_format",
    ),
    ({"workforce": "many"}, "workforce", "int_parsing"),
]


@pytest.mark.parametrize(("change", "field", "rule"), BAD_ENTERPRISES)
async def test_bad_enterprise_input_names_field_and_rule(
    registry: RunningService, change: dict[str, Any], field: str, rule: str
) -> None:
    response = await registry.client.post(
        "/enterprises", json=enterprise_body(**change), headers=MINISTRY
    )
    assert response.status_code == 422, response.text
    assert error_of(response) == (field, rule)


async def test_one_422_lists_every_broken_field_as_a_problem_without_the_input(
    registry: RunningService,
) -> None:
    """Domain rules (NIK, KBLI) and schema rules (workforce) each name their field at once;
    nothing the client sent (a NIK, a name) comes back."""
    for change, expected in (
        (
            {"owner_nik": "3471013205900001", "kbli": "47111"},
            [
                ("#/owner_nik", "invalid.nik_birth_date"),
                ("#/kbli", "invalid.kbli_not_manufacturing"),
            ],
        ),
        (
            {"workforce": "many", "investment_rupiah": "lots"},
            [("#/workforce", "int_parsing"), ("#/investment_rupiah", "int_parsing")],
        ),
    ):
        body = enterprise_body(**change)
        r = await registry.client.post("/enterprises", json=body, headers=MINISTRY)
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert (problem["status"], problem["instance"], problem["rule"]) == (
            422,
            "/enterprises",
            "invalid",
        )
        assert [(e["pointer"], e["rule"]) for e in problem["errors"]] == expected
        assert body["owner_nik"] not in r.text and body["owner_name"] not in r.text


async def test_one_422_names_the_schema_and_the_domain_rules_together(
    registry: RunningService,
) -> None:
    """A body breaking its model's schema (NIB, e-mail, a partner type) is also held to the
    domain's rules on the fields the schema accepted: the client corrects it once, and a
    request is answered as an import's row is."""
    body = enterprise_body(
        nib="12345", owner_email="budi-at-example", name=" ", kbli="47111", workforce=-1
    )
    r = await registry.client.post("/enterprises", json=body, headers=MINISTRY)
    assert r.status_code == 422, r.text
    assert [(e["pointer"], e["rule"]) for e in r.json()["errors"]] == [
        ("#/nib", "invalid.nib_format"),
        ("#/owner_email", "invalid.email_format"),
        ("#/name", "invalid.required"),
        ("#/kbli", "invalid.kbli_not_manufacturing"),
        ("#/workforce", "invalid.non_negative"),
    ]
    imported = await registry.client.post(
        "/enterprises/import", json={"rows": [body]}, headers=MINISTRY
    )
    assert imported.status_code == 200, imported.text
    (row,) = imported.json()["results"]
    assert [(e["field"], e["rule"]) for e in row["errors"]] == [
        ("nib", "nib_format"),
        ("owner_email", "email_format"),
        ("name", "required"),
        ("kbli", "kbli_not_manufacturing"),
        ("workforce", "non_negative"),
    ]
    patch = await registry.client.patch(
        f"/enterprises/{random_nib()}",
        json={"version": "one", "workforce": -1, "owner_email": "x"},
        headers=MINISTRY,
    )
    assert [(e["pointer"], e["rule"]) for e in patch.json()["errors"]] == [
        ("#/version", "int_parsing"),
        ("#/owner_email", "invalid.email_format"),
        ("#/workforce", "invalid.non_negative"),
    ]
    partner = {"name": "", "partner_type": "club", "partner_id": "Bad Id!", "country": "ZZ"}
    r = await registry.client.post("/partners", json=partner, headers=MINISTRY)
    assert r.status_code == 422, r.text
    assert [(e["pointer"], e["rule"]) for e in r.json()["errors"]] == [
        ("#/partner_type", "literal_error"),
        ("#/country", "invalid.iso3166"),
        ("#/partner_id", "invalid.partner_id_format"),
        ("#/name", "invalid.required"),
    ]


async def test_an_mou_refused_by_its_model_is_held_to_its_terms_too(
    registry: RunningService,
) -> None:
    """An MoU's scope refused by the model and its dates in the wrong order: both named, over
    HTTP and in an import's row. A field the model refused is not named again by a domain
    rule that read it missing (a partner's unknown province and its regency)."""
    body = mou_body("ydba", scope="friendship", valid_from="2026-06-01", valid_until="2026-01-01")
    r = await registry.client.post("/mous", json=body, headers=MINISTRY)
    assert r.status_code == 422, r.text
    assert [(e["pointer"], e["rule"]) for e in r.json()["errors"]] == [
        ("#/scope", "literal_error"),
        ("#/valid_until", "invalid.end_before_start"),
    ]
    imported = await registry.client.post("/mous/import", json={"rows": [body]}, headers=MINISTRY)
    assert imported.status_code == 200, imported.text
    (row,) = imported.json()["results"]
    assert [(e["field"], e["rule"]) for e in row["errors"]] == [
        ("scope", "literal_error"),
        ("valid_until", "end_before_start"),
    ]
    partner = {"name": "YDBA", "partner_type": "foundation", "province": "99", "regency": "3471"}
    r = await registry.client.post("/partners", json=partner, headers=MINISTRY)
    assert [(e["pointer"], e["rule"]) for e in r.json()["errors"]] == [
        ("#/province", "invalid.province_unknown")
    ]


async def test_import_answers_each_row_and_refuses_only_a_bad_envelope(
    registry: RunningService,
) -> None:
    nib, other = random_nib(), random_nib()
    rows = [
        enterprise_body(nib),
        enterprise_body(other, province="32", regency="3273"),
        enterprise_body("12345", kbli="47111"),
    ]
    officer = auth_headers("regional", province="34")
    r = await registry.client.post("/enterprises/import", json={"rows": rows}, headers=officer)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["rows"], result["imported"], result["existing"], result["rejected"]) == (
        3,
        1,
        0,
        2,
    )
    first, outside, broken = result["results"]
    assert first == {"index": 0, "nib": nib, "status": "imported"}
    assert [(e["field"], e["rule"]) for e in outside["errors"]] == [
        ("province", "forbidden_province")
    ]
    assert {(e["field"], e["rule"]) for e in broken["errors"]} == {
        ("nib", "nib_format"),
        ("kbli", "kbli_not_manufacturing"),
    }
    assert (await registry.client.get(f"/enterprises/{nib}", headers=MINISTRY)).status_code == 200
    for envelope, loc in (
        ({"rows": []}, ["body", "rows"]),
        ({"rows": [{}] * 5001}, ["body", "rows"]),
        ({"rows": ["not an object"]}, ["body", "rows", 0]),
        ({"rows": [enterprise_body(street="x" * 2001)]}, ["body", "rows", 0, "street"]),
    ):
        r = await registry.client.post("/enterprises/import", json=envelope, headers=MINISTRY)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["loc"] == loc


async def test_import_takes_the_bulk_body_allowance(registry: RunningService) -> None:
    rows = [enterprise_body(random_nib()) for _ in range(3000)]  # ~1.4 MB: over 1 MiB
    r = await registry.client.post("/enterprises/import", json={"rows": rows}, headers=MINISTRY)
    assert r.status_code == 200, r.text[:300]


async def test_duplicate_nib_is_409_naming_the_existing_record(registry: RunningService) -> None:
    nib = random_nib()
    assert (
        await registry.client.post("/enterprises", json=enterprise_body(nib), headers=MINISTRY)
    ).status_code == 201
    again = await registry.client.post(
        "/enterprises", json=enterprise_body(nib, name="UD Lain"), headers=MINISTRY
    )
    assert again.status_code == 409
    assert error_of(again) == ("nib", "conflict.duplicate")
    assert "CV Maju Logam" in again.text and nib in again.text


async def test_concurrent_updates_never_lose_one_silently(registry: RunningService) -> None:
    nib = random_nib()
    await registry.client.post("/enterprises", json=enterprise_body(nib), headers=MINISTRY)
    first, second = await asyncio.gather(
        registry.client.patch(
            f"/enterprises/{nib}", json={"version": 1, "workforce": 11}, headers=MINISTRY
        ),
        registry.client.patch(
            f"/enterprises/{nib}", json={"version": 1, "products": ["pagar"]}, headers=MINISTRY
        ),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = second if second.status_code == 409 else first
    assert error_of(loser) == ("version", "conflict.version_conflict")
    stored = (await registry.client.get(f"/enterprises/{nib}", headers=MINISTRY)).json()
    assert stored["version"] == 2
    winner_applied = stored["workforce"] == 11 or stored["products"] == ["pagar"]
    loser_applied = stored["workforce"] == 11 and stored["products"] == ["pagar"]
    assert winner_applied and not loser_applied


async def test_list_filters_and_pages_with_a_cursor(registry: RunningService) -> None:
    kbli = "31001"  # furniture: a KBLI no other test uses
    nibs = sorted(random_nib() for _ in range(5))
    for nib in nibs:
        r = await registry.client.post(
            "/enterprises", json=enterprise_body(nib, kbli=kbli, regency="3404"), headers=MINISTRY
        )
        assert r.status_code == 201, r.text
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {
            "kbli": kbli,
            "regency": "3404",
            "status": "registered",
            "size_class": "small",
            "limit": 2,
        }
        if cursor:
            params["cursor"] = cursor
        page = (await registry.client.get("/enterprises", params=params, headers=MINISTRY)).json()
        seen += [e["nib"] for e in page["items"]]
        assert all(e["directorate"] == "food_furniture_wood" for e in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == nibs
    assert (
        await registry.client.get("/enterprises", params={"kbli": "47111"}, headers=MINISTRY)
    ).status_code == 422
    assert (
        await registry.client.get("/enterprises", params={"status": "gone"}, headers=MINISTRY)
    ).status_code == 422


async def test_other_systems_see_the_owner_nik_masked(registry: RunningService) -> None:
    nib = random_nib()
    await registry.client.post("/enterprises", json=enterprise_body(nib), headers=MINISTRY)
    as_service = (
        await registry.client.get(f"/enterprises/{nib}", headers=auth_headers("service"))
    ).json()
    assert as_service["owner_nik"] == "3471********0001"
    as_ministry = (await registry.client.get(f"/enterprises/{nib}", headers=MINISTRY)).json()
    assert as_ministry["owner_nik"] == "3471010105900001"
    assert as_ministry["owner_phone"] == "+6281234567890"


async def test_bad_mou_input_names_field_and_rule(registry: RunningService) -> None:
    partner = new_partner_id()
    await registry.client.post(
        "/partners",
        json={"partner_id": partner, "name": "YDBA", "partner_type": "foundation"},
        headers=MINISTRY,
    )
    cases = [
        (
            mou_body(partner, valid_from="2025-06-01", valid_until="2025-01-01"),
            ("valid_until", "invalid.end_before_start"),
        ),
        (mou_body("p-never-registered"), ("parties", "invalid.unknown_partner")),
        (
            mou_body(partner, parties=[{"partner_id": partner}, {"partner_id": "ydba-x"}]),
            ("parties", "invalid.ministry_missing"),
        ),
        (mou_body(partner, scope="friendship"), ("scope", "literal_error")),
    ]
    for body, expected in cases:
        response = await registry.client.post("/mous", json=body, headers=MINISTRY)
        assert response.status_code == 422, response.text
        assert error_of(response) == expected
    old = await registry.client.post(
        "/mous",
        json=mou_body(partner, valid_from="2019-01-01", valid_until="2020-12-31"),
        headers=MINISTRY,
    )
    assert old.status_code == 201
    signing = await registry.client.post(
        f"/mous/{old.json()['mou_id']}/sign", json={}, headers=MINISTRY
    )
    assert signing.status_code == 422
    assert error_of(signing) == ("valid_until", "invalid.mou_expired")
    dup = await registry.client.post(
        "/partners",
        json={"partner_id": partner, "name": "Other", "partner_type": "company"},
        headers=MINISTRY,
    )
    assert dup.status_code == 409 and "YDBA" in dup.text


async def test_a_parameter_or_field_the_route_does_not_take_is_named_not_ignored(
    registry: RunningService,
) -> None:
    """An officer's misspelled filter (``provinse``) answered every province's enterprises,
    and a misspelled optional field (``shop_urls``) was dropped without a word; each is now
    a 422 naming it, beside the request's other errors."""
    r = await registry.client.get(
        "/enterprises", params={"provinse": "34", "limit": "0", "x": "1"}, headers=MINISTRY
    )
    assert r.status_code == 422, r.text
    assert [(e["in"], e["parameter"], e["rule"]) for e in r.json()["errors"]] == [
        ("query", "provinse", "extra_forbidden"),
        ("query", "x", "extra_forbidden"),
        ("query", "limit", "greater_than_equal"),
    ]
    body = {**enterprise_body(random_nib()), "shop_urls": ["https://toko.example/a"]}
    r = await registry.client.post("/enterprises", json=body, headers=MINISTRY)
    assert [(e["field"], e["rule"]) for e in r.json()["errors"]] == [
        ("shop_urls", "extra_forbidden")
    ]
    ok = await registry.client.get("/enterprises", params={"province": "34"}, headers=MINISTRY)
    assert ok.status_code == 200, ok.text


async def test_a_parameter_given_twice_is_named_not_last_one_wins(
    registry: RunningService,
) -> None:
    """``?province=34&province=35`` answered for 35 alone (the router keeps the last)."""
    r = await registry.client.get(
        "/enterprises", params=[("province", "34"), ("province", "35")], headers=MINISTRY
    )
    assert r.status_code == 422, r.text
    assert [(e["in"], e["parameter"], e["rule"]) for e in r.json()["errors"]] == [
        ("query", "province", "invalid.repeated_parameter")
    ]
