"""Registry HTTP API in-process on the real broker and SQLite: every role against every
endpoint and what a regional officer and a partner see. (Bad input, duplicates, concurrent
updates, filters: ``test_registry_input.py``.) (Both store adapters and the events
on the topics: ``test_registry_flow.py``.)"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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
    nib, suspended = random_nib(), random_nib()
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
        "enterprise_other": lambda: auth_headers("enterprise", nib=random_nib()),
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
    world = World(random_nib(), random_nib(), "p-x", "p-y", "mou-x", "mou-y")
    method, path, body = ENDPOINTS[endpoint](world)
    assert (await registry.client.request(method, path, json=body)).status_code == 401
    forged = {"Authorization": "Bearer " + MINISTRY["Authorization"].split()[1][:-4] + "AAAA"}
    assert (
        await registry.client.request(method, path, json=body, headers=forged)
    ).status_code == 401


async def test_regional_officer_sees_only_its_province(registry: RunningService) -> None:
    yogya, bandung = random_nib(), random_nib()
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
