"""Registry lifecycles on both store adapters, with the events checked on the real topics;
MoU expiry with an injected clock; the bulk import of a CSV file's rows."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench._enterprises import enterprise_import_rows
from contracts.registry import ENTERPRISE_TOPIC, MOU_TOPIC, PARTNER_TOPIC
from ikmkit.auth import issue_token
from ikmkit.clock import jakarta_date
from ikmkit.messaging.outbox import OUTBOX
from ikmkit.service.settings import DEV_JWT_SECRET
from ikmkit.store import Store
from ikmkit.store.sqlite import SqliteStore
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from services.registry.store import ENTERPRISES
from tests.support.listing import has
from tests.support.registry_api import (
    MINISTRY,
    enterprise_body,
    mou_body,
    names,
    new_partner_id,
    read_events,
)
from tests.support.service import auth_headers, running_service
from tests.support.values import random_nib


async def test_enterprise_lifecycle_emits_its_events_in_order(
    kafka: str, fresh_store: Store
) -> None:
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    nib = random_nib()
    officer_token = issue_token(
        DEV_JWT_SECRET, subject="officer-diy", role="regional", province="34"
    )
    officer = {"Authorization": f"Bearer {officer_token}"}
    async with running_service(definition(settings, store=fresh_store)) as reg:
        created = await reg.client.post("/enterprises", json=enterprise_body(nib), headers=officer)
        assert created.status_code == 201, created.text
        assert created.json()["size_class"] == "small"
        grown = await reg.client.patch(
            f"/enterprises/{nib}",
            json={
                "version": created.json()["version"],
                "workforce": 45,
                "investment_rupiah": 2_000_000_000,
                "marketplace_stores": [
                    {"platform": "tokopedia", "shop_url": "https://tokopedia.com/maju"}
                ],
            },
            headers=MINISTRY,
        )
        assert grown.status_code == 200, grown.text
        assert grown.json()["size_class"] == "medium"
        verified = await reg.client.post(f"/enterprises/{nib}/verify", headers=officer)
        assert verified.json()["status"] == "active"
        suspended = await reg.client.post(
            f"/enterprises/{nib}/suspend", json={"reason": "audit"}, headers=officer
        )
        assert suspended.json()["status"] == "suspended"
        reinstated = await reg.client.post(
            f"/enterprises/{nib}/reinstate", json={"reason": "ok"}, headers=officer
        )
        assert reinstated.json()["status"] == "active"
        stats = (await reg.client.get("/stats", headers=MINISTRY)).json()
        assert stats["enterprises_by_province"]["34"] >= 1
        assert stats["enterprises_by_directorate"]["metal_machinery_electronics_transport"] >= 1

        events = await read_events(kafka, ENTERPRISE_TOPIC, nib, until=has("EnterpriseReinstated"))
    assert names(events) == [
        "EnterpriseRegistered",
        "EnterpriseUpdated",
        "EnterpriseClassChanged",
        "EnterpriseOnboardedToMarketplace",
        "EnterpriseVerified",
        "EnterpriseSuspended",
        "EnterpriseReinstated",
    ]
    registered, updated, class_changed, onboarded, verified_event = events[:5]
    assert registered.owner.name == "Budi Santoso" and registered.campaigns == [
        "#SemuanyaAdaDisini"
    ]  # type: ignore[attr-defined]
    assert "owner_nik" not in registered.model_dump_json()  # the NIK is in no event
    assert updated.owner is None  # type: ignore[attr-defined]  # owner unchanged: not repeated
    assert sorted(updated.changed_fields) == [
        "investment_rupiah",
        "marketplace_stores",
        "workforce",
    ]  # type: ignore[attr-defined]
    assert (class_changed.previous_class, class_changed.new_class) == ("small", "medium")  # type: ignore[attr-defined]
    assert onboarded.platform == "tokopedia"  # type: ignore[attr-defined]
    assert verified_event.verified_by == "officer-diy"  # type: ignore[attr-defined]


async def test_partner_and_mou_lifecycle_emit_events(kafka: str, fresh_store: Store) -> None:
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    ydba, ypti = new_partner_id(), new_partner_id()
    async with running_service(definition(settings, store=fresh_store)) as reg:
        for pid, kind in ((ydba, "foundation"), (ypti, "company")):
            r = await reg.client.post(
                "/partners",
                json={"partner_id": pid, "name": pid, "partner_type": kind, "province": "34"},
                headers=MINISTRY,
            )
            assert r.status_code == 201, r.text
        body = mou_body(ypti, scope="supply_chain_partnership")
        body["parties"] = [
            {"partner_id": ydba},
            {"partner_id": ypti},
            {"partner_id": "ministry", "role": "witness"},
        ]
        draft = (await reg.client.post("/mous", json=body, headers=MINISTRY)).json()
        mou_id = draft["mou_id"]
        assert draft["status"] == "draft"
        signed = await reg.client.post(
            f"/mous/{mou_id}/sign", json={"document_ref": "YDBA-YPTI/2025"}, headers=MINISTRY
        )
        assert signed.status_code == 200, signed.text
        again = await reg.client.post(f"/mous/{mou_id}/sign", json={}, headers=MINISTRY)
        assert again.status_code == 409
        by_party = (
            await reg.client.get(
                "/mous",
                params={"party": ydba, "scope": "supply_chain_partnership"},
                headers=MINISTRY,
            )
        ).json()
        assert [m["mou_id"] for m in by_party["items"]] == [mou_id]
        ended = await reg.client.post(
            f"/mous/{mou_id}/terminate",
            json={"reason": "merged"},
            headers=auth_headers("partner", partner_id=ypti),
        )
        assert ended.json()["status"] == "terminated"
        stats = (await reg.client.get("/stats", headers=MINISTRY)).json()
        assert stats["mous_by_scope"]["supply_chain_partnership"]["terminated"] == 1
        mou_events = await read_events(kafka, MOU_TOPIC, mou_id, until=has("MoUTerminated"))
        partner_events = await read_events(
            kafka, PARTNER_TOPIC, ydba, until=has("PartnerRegistered")
        )
    assert names(mou_events) == ["MoUSigned", "MoUTerminated"]
    assert mou_events[0].document_ref == "YDBA-YPTI/2025"  # type: ignore[attr-defined]
    assert names(partner_events) == ["PartnerRegistered"]


class MovableClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_signed_mou_expires_once_its_end_date_passes(kafka: str, tmp_path: Path) -> None:
    clock = MovableClock()
    settings = RegistrySettings(kafka_bootstrap_servers=kafka, mou_expiry_interval=0.1)
    partner = new_partner_id()
    store = SqliteStore(tmp_path / "registry.db")
    async with running_service(definition(settings, store=store, clock=clock)) as reg:
        await reg.client.post(
            "/partners",
            json={
                "partner_id": partner,
                "name": "SMK 2 Depok",
                "partner_type": "vocational_school",
            },
            headers=MINISTRY,
        )
        today = jakarta_date(clock.now)  # the service's calendar (UTC's is a day behind 17-24h)
        body = mou_body(
            partner,
            scope="vocational_link_and_match",
            valid_from=(today - timedelta(days=10)).isoformat(),
            valid_until=(today + timedelta(days=5)).isoformat(),
        )
        mou_id = (await reg.client.post("/mous", json=body, headers=MINISTRY)).json()["mou_id"]
        assert (
            await reg.client.post(f"/mous/{mou_id}/sign", json={}, headers=MINISTRY)
        ).status_code == 200
        clock.now += timedelta(days=5)  # the end date itself: still valid
        await asyncio.sleep(0.3)
        assert (await reg.client.get(f"/mous/{mou_id}", headers=MINISTRY)).json()[
            "status"
        ] == "signed"
        clock.now += timedelta(days=1)
        status = "signed"
        for _ in range(100):
            status = (await reg.client.get(f"/mous/{mou_id}", headers=MINISTRY)).json()["status"]
            if status == "expired":
                break
            await asyncio.sleep(0.05)
        assert status == "expired"
        events = await read_events(kafka, MOU_TOPIC, mou_id, until=has("MoUExpired"))
    assert names(events) == ["MoUSigned", "MoUExpired"]
    assert events[1].valid_until == date.fromisoformat(body["valid_until"])  # type: ignore[attr-defined]


def csv_rows(rows: int) -> list[dict[str, object]]:
    """The rows of a CSV file, every 20th not manufacturing, then a repeated NIB and a row with
    a broken NIK and regency."""
    prefix = int(random_nib()[0])
    body = enterprise_import_rows(rows, prefix=prefix, bad_every=20)
    body.append(dict(body[0]))
    body.append(
        {
            "nib": f"{prefix}999999999999", "name": "UD X", "legal_form": "UD",
            "owner_name": "Ani", "owner_nik": "3471019905900001", "province": "34",
            "regency": "3273", "kbli": "10710", "workforce": 1, "investment_rupiah": 0,
        }
    )  # fmt: skip
    return body


async def test_csv_import_is_validated_idempotent_and_emits_events(
    kafka: str, fresh_store: Store, store_kind: str
) -> None:
    """``POST /enterprises/import`` with the rows of a CSV file (as ``ikm registry import``
    sends them): every row checked on its own, idempotent, the events in the outbox."""
    rows = 300 if store_kind == "sqlite" else 40
    body = csv_rows(rows)
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    async with running_service(definition(settings, store=fresh_store)) as reg:
        first = await reg.client.post("/enterprises/import", json={"rows": body}, headers=MINISTRY)
        assert first.status_code == 200, first.text
        report = first.json()
        bad = rows // 20
        assert (report["rows"], report["imported"], report["rejected"]) == (
            rows + 2,
            rows - bad,
            bad + 2,
        )
        assert [r["index"] for r in report["results"]] == list(range(rows + 2))
        errors = [e for r in report["results"] for e in r.get("errors", [])]
        assert all(e["field"] and e["rule"] and e["message"] for e in errors)
        rules = {(e["field"], e["rule"]) for e in errors}
        assert ("kbli", "kbli_not_manufacturing") in rules
        assert ("nib", "duplicate_in_file") in rules
        assert {("owner_nik", "nik_birth_date"), ("regency", "regency_not_in_province")} <= rules
        async with fresh_store.transaction() as uow:
            enterprises = await uow.count(ENTERPRISES)
            events = await uow.count(OUTBOX)
        assert enterprises == rows - bad
        # one EnterpriseRegistered each, plus store onboardings
        assert events == (rows - bad) + rows // 10
        again = await reg.client.post("/enterprises/import", json={"rows": body}, headers=MINISTRY)
        assert (again.json()["imported"], again.json()["existing"]) == (0, rows - bad)
        async with fresh_store.transaction() as uow:
            assert await uow.count(OUTBOX) == events
