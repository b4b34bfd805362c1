"""The machine-restructuring rebate through the running stack:
register -> verify (registry) -> apply -> approve -> disburse (subsidy), with the events on
the topics in order and the budget report reconciled."""

from __future__ import annotations

import uuid

import httpx

from contracts.subsidy import APPLICATION_TOPIC
from tests.support.fiscal import as_json, open_now
from tests.support.kafka import eventually, header, read_topic
from tests.support.service import auth_headers
from tests.support.stack import Stack

MINISTRY = auth_headers("ministry")
JOGJA = auth_headers("regional", province="34")


async def test_rebate_from_registration_to_disbursement(stack: Stack, kafka: str) -> None:
    nib = str(uuid.uuid4().int)[:13].rjust(13, "1")
    owner = auth_headers("enterprise", nib=nib)
    registry, subsidy = stack.urls["registry"], stack.urls["subsidy"]
    window = open_now(days=7)
    async with httpx.AsyncClient(timeout=10) as client:
        program = await client.post(
            f"{subsidy}/programs",
            json={
                "kind": "machine_restructuring",
                "name": "Restrukturisasi Mesin IKM (e2e)",
                **as_json(window),
                "cap_per_application_rupiah": 100_000_000,
                "cap_per_enterprise_rupiah": 200_000_000,
                "province_budgets": {"34": 40_000_000},
                "national_reserve_rupiah": 10_000_000,
            },
            headers=MINISTRY,
        )
        assert program.status_code == 201, program.text
        program_id = program.json()["id"]
        registered = await client.post(
            f"{registry}/enterprises",
            json={
                "nib": nib, "name": "CV Baja Mataram", "owner_name": "Sri Wahyuni",
                "owner_email": "sri@example.id", "province": "34", "regency": "3471",
                "kbli": "25920", "workforce": 15, "investment_rupiah": 700_000_000,
            },
            headers=MINISTRY,
        )  # fmt: skip
        assert registered.status_code == 201, registered.text
        verified = await client.post(f"{registry}/enterprises/{nib}/verify", headers=JOGJA)
        assert verified.status_code == 200, verified.text

        application = {
            "program_id": program_id,
            "nib": nib,
            "lines": [
                {"kind": "machine", "description": "mesin las", "supplier": "PT Las",
                 "price_rupiah": 45_000_000, "locally_made": True},
                {"kind": "machine", "description": "mesin bor", "supplier": "PT Bor",
                 "price_rupiah": 12_500_001, "locally_made": False},
            ],
        }  # fmt: skip

        async def applied() -> dict | None:
            r = await client.post(f"{subsidy}/applications", json=application, headers=owner)
            return r.json() if r.status_code == 201 else None  # 422 until the replica is verified

        app = await eventually(applied)
        # 30% of 57,500,001 = 17,250,000.3 -> Rp 17,250,000 (rounded down)
        assert app["requested_rebate_rupiah"] == 17_250_000
        app_id = app["id"]
        approved = await client.post(f"{subsidy}/applications/{app_id}/approve", headers=MINISTRY)
        assert approved.status_code == 200 and approved.json()["status"] == "approved"
        payment = {"payment_reference": f"SP2D-{nib}"}
        paid = await client.post(
            f"{subsidy}/applications/{app_id}/disburse", json=payment, headers=MINISTRY
        )
        assert paid.status_code == 200 and paid.json()["status"] == "disbursed", paid.text

        async def lifecycle() -> list | None:
            records = [
                r for r in await read_topic(kafka, APPLICATION_TOPIC) if r.key == app_id.encode()
            ]
            return records if len(records) >= 3 else None

        records = await eventually(lifecycle)
        types = [(header(r, "ce_type") or "").split(".")[-2] for r in records]
        assert types == ["SubsidyApplied", "SubsidyApproved", "SubsidyDisbursed"]
        assert [header(r, "ce_sequence") for r in records] == [f"{n:016d}" for n in (1, 2, 3)]
        assert {header(r, "ce_region") for r in records} == {"34"}

        report = await client.get(
            f"{subsidy}/budgets",
            params={"fiscal_year": window["fiscal_year"], "province": "34"},
            headers=JOGJA,
        )
        line = next(b for b in report.json()["items"] if b["program_id"] == program_id)
        assert line["disbursed_rupiah"] == 17_250_000
        assert line["reserved_rupiah"] == 0
        assert line["remaining_rupiah"] == 40_000_000 - 17_250_000
        assert (
            line["reserved_rupiah"] + line["disbursed_rupiah"] + line["remaining_rupiah"]
            == (line["allocated_rupiah"])
        )
        assert report.json()["totals"]["reconciles"]
