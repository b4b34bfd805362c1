"""The registry gaps of issue #13 over HTTP on both store adapters and the real broker:
``GET /partners``, partner and MoU imports, MoU location on the topic, association member
counts, and ``GET /enterprises`` by marketplace platform and campaign."""

from __future__ import annotations

from typing import Any

from contracts.registry import MOU_TOPIC, PARTNER_TOPIC
from ikmkit.store import Store
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from tests.support.listing import has
from tests.support.registry_api import (
    MINISTRY,
    enterprise_body,
    mou_body,
    names,
    new_partner_id,
    read_events,
)
from tests.support.service import RunningService, auth_headers, running_service
from tests.support.values import random_nib


async def _listed(reg: RunningService, path: str, **params: Any) -> list[dict[str, Any]]:
    r = await reg.client.get(path, params=params, headers=MINISTRY)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def test_partners_and_mous_are_imported_listed_and_located(
    kafka: str, fresh_store: Store
) -> None:
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    smk, company, bkti = new_partner_id(), new_partner_id(), new_partner_id()
    partners = [
        {"partner_id": smk, "name": "SMK N 2 Depok", "partner_type": "vocational_school",
         "province": "34", "regency": "3404"},
        {"partner_id": company, "name": "PT Astra", "partner_type": "company", "province": "34"},
        {"partner_id": bkti, "name": "PII BKTI", "partner_type": "association",
         "member_count": 290},
        {"partner_id": "x", "name": "", "partner_type": "company"},
    ]  # fmt: skip
    async with running_service(definition(settings, store=fresh_store)) as reg:
        r = await reg.client.post("/partners/import", json={"rows": partners}, headers=MINISTRY)
        assert r.status_code == 200, r.text
        result = r.json()
        assert (result["imported"], result["existing"], result["rejected"]) == (3, 0, 1)
        assert result["results"][0] == {"index": 0, "partner_id": smk, "status": "imported"}
        assert {e["rule"] for e in result["results"][3]["errors"]} == {
            "partner_id_format",
            "required",
        }
        again = (
            await reg.client.post("/partners/import", json={"rows": partners[:3]}, headers=MINISTRY)
        ).json()
        assert (again["imported"], again["existing"]) == (0, 3)

        smks = await _listed(reg, "/partners", partner_type="vocational_school", province="34")
        assert smk in [p["partner_id"] for p in smks]
        first = await reg.client.get("/partners", params={"limit": 1}, headers=MINISTRY)
        assert len(first.json()["items"]) == 1 and first.json()["next_cursor"]
        mine = await reg.client.get("/partners", headers=auth_headers("partner", partner_id=bkti))
        assert [(p["partner_id"], p["member_count"]) for p in mine.json()["items"]] == [(bkti, 290)]

        signed = mou_body(smk, company, scope="vocational_link_and_match", province="34")
        signed["signed_on"] = signed["valid_from"]
        rows = [signed, mou_body(smk, "p-unknown")]
        r = await reg.client.post("/mous/import", json={"rows": rows}, headers=MINISTRY)
        assert r.status_code == 200, r.text
        [ok, refused] = r.json()["results"]
        assert ok["status"] == "imported" and refused["status"] == "rejected"
        assert [e["rule"] for e in refused["errors"]] == ["unknown_partner"]
        mou = (await reg.client.get(f"/mous/{ok['mou_id']}", headers=MINISTRY)).json()
        assert (mou["status"], mou["province"]) == ("signed", "34")
        again = await reg.client.post("/mous/import", json={"rows": rows[:1]}, headers=MINISTRY)
        assert again.json()["results"][0] == {
            "index": 0,
            "mou_id": ok["mou_id"],
            "status": "existing",
        }
        located = await _listed(reg, "/mous", province="34", scope="vocational_link_and_match")
        assert [m["mou_id"] for m in located] == [ok["mou_id"]]

        mou_events = await read_events(kafka, MOU_TOPIC, ok["mou_id"], until=has("MoUSigned"))
        bkti_events = await read_events(kafka, PARTNER_TOPIC, bkti, until=has("PartnerRegistered"))
    assert names(mou_events) == ["MoUSigned"]
    assert mou_events[0].province == "34"  # type: ignore[attr-defined]
    assert bkti_events[0].member_count == 290  # type: ignore[attr-defined]


async def test_enterprises_are_listed_by_marketplace_platform_and_campaign(
    kafka: str, fresh_store: Store
) -> None:
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    shop = {"platform": "tokopedia", "shop_url": "https://tokopedia.com/maju"}
    on_shop, in_campaign, both = random_nib(), random_nib(), random_nib()
    bodies = [
        enterprise_body(on_shop, campaigns=[], marketplace_stores=[shop]),
        enterprise_body(in_campaign, campaigns=["#BanggaBuatanIndonesia"]),
        enterprise_body(both, campaigns=["#BanggaBuatanIndonesia"], marketplace_stores=[shop]),
    ]
    async with running_service(definition(settings, store=fresh_store)) as reg:
        r = await reg.client.post("/enterprises/import", json={"rows": bodies}, headers=MINISTRY)
        assert r.json()["imported"] == 3, r.text
        tokopedia = await _listed(reg, "/enterprises", marketplace_platform="tokopedia")
        assert {e["nib"] for e in tokopedia} == {on_shop, both}
        bangga = await _listed(reg, "/enterprises", campaign="#BanggaBuatanIndonesia")
        assert {e["nib"] for e in bangga} == {in_campaign, both}
        crossed = await _listed(
            reg, "/enterprises", campaign="BanggaBuatanIndonesia", marketplace_platform="tokopedia"
        )
        assert [e["nib"] for e in crossed] == [both]
        officer = auth_headers("regional", province="34")
        r = await reg.client.get(
            "/enterprises", params={"marketplace_platform": "tokopedia"}, headers=officer
        )
        assert {e["nib"] for e in r.json()["items"]} == {on_shop, both}
        r = await reg.client.get(
            "/enterprises", params={"marketplace_platform": "friendster"}, headers=MINISTRY
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["rule"] == "invalid.platform"
