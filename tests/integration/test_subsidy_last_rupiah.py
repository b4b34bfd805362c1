"""The last rupiah under real concurrent HTTP requests on SQLite: approvals racing for a
budget that covers exactly ten rebates, the same application approved twice at once, one
application disbursed twice at once with different payment references.

One process: ``SqliteStore`` keeps one writer connection per process and sets no busy
timeout, so two processes on one file meet ``database is locked`` on their first writes
(SQLite is the file per service of a dev machine; deployments need MongoDB,
docs/operations.md `MONGODB_URL`)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx

from ikmkit.store.sqlite import SqliteStore
from services.subsidy.main import definition
from services.subsidy.settings import SubsidySettings
from tests.support.fiscal import as_json, open_now
from tests.support.service import auth_headers, running_service
from tests.support.subsidy_replica import add_enterprises

MINISTRY = auth_headers("ministry")
REBATE = 3_000_000  # 30% of a Rp 10,000,000 machine


def program_body() -> dict[str, Any]:
    return {
        "kind": "machine_restructuring",
        "name": "Restrukturisasi Mesin IKM",
        **as_json(open_now()),
        "cap_per_application_rupiah": 100_000_000,
        "cap_per_enterprise_rupiah": 200_000_000,
        "province_budgets": {"34": 10 * REBATE},
    }


async def apply(client: httpx.AsyncClient, program_id: str, nib: str) -> str:
    line = {"kind": "machine", "description": "CNC", "supplier": "PT Mesin", "price_rupiah": 10**7}
    owner = auth_headers("enterprise", nib=nib)
    body = {"program_id": program_id, "nib": nib, "lines": [line]}
    r = await client.post("/applications", json=body, headers=owner)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_concurrent_approvals_against_the_last_rupiah_never_overspend(
    kafka: str, tmp_path: Path
) -> None:
    settings = SubsidySettings(kafka_bootstrap_servers=kafka)
    store = SqliteStore(tmp_path / "subsidy.db")
    async with running_service(definition(settings, store=store)) as service:
        client = service.client
        program = (await client.post("/programs", json=program_body(), headers=MINISTRY)).json()
        nibs = await add_enterprises(store, 30)
        apps = [await apply(client, program["id"], nib) for nib in nibs]

        # Every application approved once, the first one twice, all at the same time.
        racing = [client.post(f"/applications/{x}/approve", headers=MINISTRY) for x in apps]
        racing.append(client.post(f"/applications/{apps[0]}/approve", headers=MINISTRY))
        answers = await asyncio.gather(*racing)

        statuses = [r.status_code for r in answers]
        assert statuses.count(409) == 1 and statuses.count(200) == len(apps), statuses
        [twice] = [r for r in answers if r.status_code == 409]
        assert twice.json()["rule"].startswith("conflict.cannot_approve_")
        decided = [r.json() for r in answers if r.status_code == 200]
        approved = [d for d in decided if d["status"] == "approved"]
        rejected = [d for d in decided if d["status"] == "rejected"]
        assert (len(approved), len(rejected)) == (10, 20)
        assert {d["rejection"]["rule"] for d in rejected} == {"budget_exhausted"}

        # The same approved application paid twice at once with different references.
        paid_id = approved[0]["id"]
        payments = await asyncio.gather(
            *(
                client.post(
                    f"/applications/{paid_id}/disburse",
                    json={"payment_reference": f"SP2D-{n}"},
                    headers=MINISTRY,
                )
                for n in range(2)
            )
        )
        assert sorted(r.status_code for r in payments) == [200, 409], [r.text for r in payments]

        report = (await client.get("/budgets", headers=MINISTRY)).json()
        [line] = [x for x in report["items"] if x["program_id"] == program["id"] and x["province"]]
        assert (line["reserved_rupiah"], line["disbursed_rupiah"], line["remaining_rupiah"]) == (
            9 * REBATE,
            REBATE,
            0,
        )
        assert line["reconciles"] is True
