"""Registry HTTP API in-process on the real broker and SQLite: every role against every
endpoint, bad input, duplicates and concurrent updates. (Both store adapters and the events
on the topics: ``test_registry_flow.py``.)"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer

from contracts.base import Event
from ikmkit.messaging.cloudevents import decode
from ikmkit.store.sqlite import SqliteStore
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from tests.support.service import RunningService, auth_headers, running_service

# --- helpers shared with the other registry tests ------------------------------------------


def new_nib() -> str:
    return str(uuid.uuid4().int)[:13].rjust(13, "1")


def new_partner_id() -> str:
    return f"p-{uuid.uuid4().hex[:10]}"


def enterprise_body(nib: str | None = None, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "nib": nib or new_nib(),
        "name": "CV Maju Logam",
        "legal_form": "CV",
        "owner_name": "Budi Santoso",
        "owner_nik": "3471010105900001",
        "owner_phone": "0812-3456-7890",
        "owner_email": "budi@example.id",
        "street": "Jl. Malioboro 1",
        "province": "34",
        "regency": "3471",
        "kbli": "29300",
        "workforce": 10,
        "investment_rupiah": 500_000_000,
        "products": ["knalpot"],
        "campaigns": ["#SemuanyaAdaDisini"],
    }
    return {**body, **overrides}


def mou_body(*partner_ids: str, **overrides: Any) -> dict[str, Any]:
    today = date.today()
    body: dict[str, Any] = {
        "title": "Pendampingan teknis IKM",
        "scope": "technical_assistance",
        "parties": [{"partner_id": "ministry"}, *({"partner_id": p} for p in partner_ids)],
        "valid_from": (today - timedelta(days=30)).isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
        "document_ref": "NK/IKMA/001",
    }
    return {**body, **overrides}


MINISTRY = auth_headers("ministry")


async def read_events(
    kafka: str, topic: str, key: str, *, until: Callable[[list[Event]], bool], timeout: float = 20
) -> list[Event]:
    """The events of one aggregate on a topic, from the beginning, until ``until`` holds.

    Delivery is at-least-once (a relay pass may publish again), so repeats of an event id are
    dropped, as every consumer does."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[Event] = []
    seen: set[str] = set()
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while not until(found) and asyncio.get_running_loop().time() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    if record.key != key.encode():
                        continue
                    envelope = decode(record.headers, record.value)
                    if envelope.attrs.id not in seen:
                        seen.add(envelope.attrs.id)
                        found.append(envelope.event)
    finally:
        await consumer.stop()
    return found


def names(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def registry(
    kafka: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningService]:
    store = SqliteStore(tmp_path_factory.mktemp("registry") / "registry.db")
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    async with running_service(definition(settings, store=store)) as service:
        yield service


@dataclass
class World:
    """Fresh records for one access check: an enterprise in Yogyakarta (34), partners, MoUs."""

    nib: str
    suspended_nib: str
    partner: str
    other_partner: str
    draft_mou: str
    signed_mou: str


async def make_world(reg: RunningService) -> World:
    nib, suspended = new_nib(), new_nib()
    for n in (nib, suspended):
        r = await reg.client.post("/enterprises", json=enterprise_body(n), headers=MINISTRY)
        assert r.status_code == 201, r.text
    r = await reg.client.post(
        f"/enterprises/{suspended}/suspend", json={"reason": "audit"}, headers=MINISTRY
    )
    assert r.status_code == 200, r.text
    partner, other = new_partner_id(), new_partner_id()
    for p in (partner, other):
        r = await reg.client.post(
            "/partners",
            json={"partner_id": p, "name": "PII BKTI", "partner_type": "association"},
            headers=MINISTRY,
        )
        assert r.status_code == 201, r.text
    mous = []
    for _ in range(2):
        r = await reg.client.post("/mous", json=mou_body(partner), headers=MINISTRY)
        assert r.status_code == 201, r.text
        mous.append(r.json()["mou_id"])
    r = await reg.client.post(f"/mous/{mous[1]}/sign", json={}, headers=MINISTRY)
    assert r.status_code == 200, r.text
    return World(nib, suspended, partner, other, mous[0], mous[1])


def headers_for(who: str, w: World) -> dict[str, str]:
    return {
        "ministry": lambda: MINISTRY,
        "regional": lambda: auth_headers("regional", province="34"),
        "regional_other": lambda: auth_headers("regional", province="32"),
        "partner": lambda: auth_headers("partner", partner_id=w.partner),
        "partner_other": lambda: auth_headers("partner", partner_id=w.other_partner),
        "enterprise": lambda: auth_headers("enterprise", nib=w.nib),
        "enterprise_other": lambda: auth_headers("enterprise", nib=new_nib()),
        "service": lambda: auth_headers("service"),
    }[who]()


Request = Callable[[World], tuple[str, str, dict[str, Any] | None]]

ENDPOINTS: dict[str, Request] = {
    "register": lambda w: ("POST", "/enterprises", enterprise_body()),
    "import": lambda w: ("POST", "/enterprises/import", {"rows": [enterprise_body()]}),
    "get": lambda w: ("GET", f"/enterprises/{w.nib}", None),
    "list_34": lambda w: ("GET", "/enterprises?province=34", None),
    "patch": lambda w: ("PATCH", f"/enterprises/{w.nib}", {"version": 1, "workforce": 12}),
    "verify": lambda w: ("POST", f"/enterprises/{w.nib}/verify", None),
    "suspend": lambda w: ("POST", f"/enterprises/{w.nib}/suspend", {"reason": "audit"}),
    "reinstate": lambda w: ("POST", f"/enterprises/{w.suspended_nib}/reinstate", {"reason": "ok"}),
    "register_partner": lambda w: (
        "POST",
        "/partners",
        {"name": "YDBA", "partner_type": "foundation", "province": "31"},
    ),
    "get_partner": lambda w: ("GET", f"/partners/{w.partner}", None),
    "list_partners": lambda w: ("GET", "/partners?partner_type=association", None),
    "import_partners": lambda w: (
        "POST",
        "/partners/import",
        {"rows": [{"partner_id": new_partner_id(), "name": "SMK 2", "partner_type": "company"}]},
    ),
    "import_mous": lambda w: ("POST", "/mous/import", {"rows": [mou_body(w.partner)]}),
    "draft_mou": lambda w: ("POST", "/mous", mou_body(w.partner)),
    "get_mou": lambda w: ("GET", f"/mous/{w.draft_mou}", None),
    "sign_mou": lambda w: ("POST", f"/mous/{w.draft_mou}/sign", {}),
    "terminate_mou": lambda w: ("POST", f"/mous/{w.signed_mou}/terminate", {"reason": "done"}),
    "list_mous": lambda w: ("GET", "/mous", None),
    "stats": lambda w: ("GET", "/stats", None),
}

WHO = (
    "ministry",
    "regional",
    "regional_other",
    "partner",
    "partner_other",
    "enterprise",
    "enterprise_other",
    "service",
)
# Expected status per endpoint, in the order of WHO.
MATRIX: dict[str, tuple[int, ...]] = {
    "register": (201, 201, 403, 403, 403, 403, 403, 201),
    "import": (200, 200, 200, 403, 403, 403, 403, 200),  # other provinces' rows: rejected
    "get": (200, 200, 404, 403, 403, 200, 404, 200),
    "list_34": (200, 200, 403, 403, 403, 403, 403, 200),
    "patch": (200, 200, 404, 403, 403, 200, 404, 403),
    "verify": (200, 200, 404, 403, 403, 403, 403, 403),
    "suspend": (200, 200, 404, 403, 403, 403, 403, 403),
    "reinstate": (200, 200, 404, 403, 403, 403, 403, 403),
    "register_partner": (201, 403, 403, 403, 403, 403, 403, 201),
    "get_partner": (200, 200, 200, 200, 404, 403, 403, 200),
    "list_partners": (200, 200, 200, 200, 200, 403, 403, 200),
    "import_partners": (200, 403, 403, 403, 403, 403, 403, 200),
    "import_mous": (200, 403, 403, 403, 403, 403, 403, 403),
    "draft_mou": (201, 403, 403, 201, 403, 403, 403, 403),
    "get_mou": (200, 200, 200, 200, 404, 403, 403, 200),
    "sign_mou": (200, 403, 403, 403, 403, 403, 403, 403),
    "terminate_mou": (200, 403, 403, 200, 404, 403, 403, 403),
    "list_mous": (200, 200, 200, 200, 200, 403, 403, 200),
    "stats": (200, 200, 200, 403, 403, 403, 403, 200),
}


@pytest.mark.parametrize("endpoint", list(MATRIX))
async def test_every_role_against_every_endpoint(registry: RunningService, endpoint: str) -> None:
    got: dict[str, int] = {}
    for who in WHO:
        world = await make_world(registry)  # fresh records: each call may change state
        method, path, body = ENDPOINTS[endpoint](world)
        response = await registry.client.request(
            method, path, json=body, headers=headers_for(who, world)
        )
        got[who] = response.status_code
    assert got == dict(zip(WHO, MATRIX[endpoint], strict=True))


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_every_endpoint_needs_a_valid_token(registry: RunningService, endpoint: str) -> None:
    world = World(new_nib(), new_nib(), "p-x", "p-y", "mou-x", "mou-y")
    method, path, body = ENDPOINTS[endpoint](world)
    assert (await registry.client.request(method, path, json=body)).status_code == 401
    forged = {"Authorization": "Bearer " + MINISTRY["Authorization"].split()[1][:-4] + "AAAA"}
    assert (
        await registry.client.request(method, path, json=body, headers=forged)
    ).status_code == 401


async def test_regional_officer_sees_only_its_province(registry: RunningService) -> None:
    yogya, bandung = new_nib(), new_nib()
    await registry.client.post("/enterprises", json=enterprise_body(yogya), headers=MINISTRY)
    r = await registry.client.post(
        "/enterprises",
        json=enterprise_body(bandung, province="32", regency="3273"),
        headers=MINISTRY,
    )
    assert r.status_code == 201, r.text
    officer = auth_headers("regional", province="34")
    listed = (await registry.client.get("/enterprises?limit=500", headers=officer)).json()["items"]
    provinces = {e["province"] for e in listed}
    assert provinces == {"34"}
    assert yogya in {e["nib"] for e in listed}
    assert (
        await registry.client.get(f"/enterprises/{bandung}", headers=officer)
    ).status_code == 404
    stats = (await registry.client.get("/stats", headers=officer)).json()
    assert set(stats["enterprises_by_province"]) == {"34"}
    duplicate = await registry.client.post(
        "/enterprises",
        json=enterprise_body(bandung, province="34", regency="3471"),
        headers=officer,
    )
    assert duplicate.status_code == 409
    assert "Bandung" not in duplicate.text and "CV Maju" not in duplicate.text  # nothing leaks


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


async def test_import_answers_each_row_and_refuses_only_a_bad_envelope(
    registry: RunningService,
) -> None:
    nib, other = new_nib(), new_nib()
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
    rows = [enterprise_body(new_nib()) for _ in range(3000)]  # ~1.4 MB: over 1 MiB
    r = await registry.client.post("/enterprises/import", json={"rows": rows}, headers=MINISTRY)
    assert r.status_code == 200, r.text[:300]


async def test_duplicate_nib_is_409_naming_the_existing_record(registry: RunningService) -> None:
    nib = new_nib()
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
    nib = new_nib()
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
    nibs = sorted(new_nib() for _ in range(5))
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
    nib = new_nib()
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


async def test_partner_sees_only_its_own_mous(registry: RunningService) -> None:
    world = await make_world(registry)
    mine = auth_headers("partner", partner_id=world.partner)
    listed = (await registry.client.get("/mous", headers=mine)).json()["items"]
    assert {m["mou_id"] for m in listed} == {world.draft_mou, world.signed_mou}
    signed = (await registry.client.get("/mous", params={"status": "signed"}, headers=mine)).json()[
        "items"
    ]
    assert [m["mou_id"] for m in signed] == [world.signed_mou]
    other = (
        await registry.client.get(
            "/mous", headers=auth_headers("partner", partner_id=world.other_partner)
        )
    ).json()
    assert other["items"] == []
    stolen = await registry.client.get(
        "/mous",
        params={"party": world.partner},
        headers=auth_headers("partner", partner_id=world.other_partner),
    )
    assert stolen.status_code == 403


async def test_openapi_is_served_at_docs(registry: RunningService) -> None:
    assert (await registry.client.get("/docs")).status_code == 200
    paths = (await registry.client.get("/openapi.json")).json()["paths"]
    for path in (
        "/enterprises",
        "/enterprises/{nib}",
        "/enterprises/{nib}/verify",
        "/enterprises/import",
        "/partners",
        "/mous",
        "/mous/{mou_id}/sign",
        "/stats",
    ):
        assert path in paths
