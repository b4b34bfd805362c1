"""Subsidy HTTP API over the real broker: the registry's events feed the eligibility replica;
roles, bad input (422), state-machine violations (409), budgets and stats. Both stores."""

from __future__ import annotations

from typing import Any

import httpx

from ikmkit.store import Store
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from services.subsidy.main import definition as subsidy_definition
from services.subsidy.settings import SubsidySettings
from tests.conftest import make_store
from tests.support.fiscal import as_json, closed_last_year
from tests.support.service import auth_headers, running_service
from tests.support.subsidy_api import (
    JOGJA,
    MINISTRY,
    enterprise_body,
    eventually,
    machine,
    program_body,
)
from tests.support.values import random_nib

ACEH = auth_headers("regional", province="11")
REGIONAL_LIMIT = 10_000_000


def error_type(response: httpx.Response) -> tuple[list[str], str]:
    """The first field error's loc and rule; a refusal naming no field: [] and its rule."""
    problem = response.json()
    first = problem.get("errors", [{"loc": [], "rule": problem["rule"]}])[0]
    return first["loc"], first["rule"]


async def test_subsidy_api_over_the_registry_events(
    kafka: str, fresh_store: Store, tmp_path
) -> None:
    registry = registry_definition(
        RegistrySettings(kafka_bootstrap_servers=kafka), store=make_store("sqlite", tmp_path, None)
    )
    subsidy = subsidy_definition(
        SubsidySettings(
            kafka_bootstrap_servers=kafka, regional_approval_limit_rupiah=REGIONAL_LIMIT
        ),
        store=fresh_store,
    )
    nib = random_nib()
    owner = auth_headers("enterprise", nib=nib)
    async with running_service(registry) as reg, running_service(subsidy) as sub:
        program = (await sub.client.post("/programs", json=program_body(), headers=MINISTRY)).json()
        apply_body = {"program_id": program["id"], "nib": nib, "lines": [machine(50_000_000)]}

        # Registered but not verified: the replica says why it may not apply yet.
        assert (
            await reg.client.post("/enterprises", json=enterprise_body(nib), headers=MINISTRY)
        ).status_code == 201

        async def not_verified() -> httpx.Response | None:
            r = await sub.client.post("/applications", json=apply_body, headers=owner)
            return r if error_type(r)[1] == "invalid.enterprise_not_verified" else None

        assert (await eventually(not_verified)).status_code == 422
        assert (
            await reg.client.post(f"/enterprises/{nib}/verify", headers=JOGJA)
        ).status_code == 200

        async def applied() -> httpx.Response | None:
            r = await sub.client.post("/applications", json=apply_body, headers=owner)
            return r if r.status_code == 201 else None

        app = (await eventually(applied)).json()
        assert (app["status"], app["requested_rebate_rupiah"]) == ("submitted", 15_000_000)
        assert (app["province"], app["enterprise_name"]) == ("34", "CV Logam Presisi")

        # Bad input: the field and the rule.
        cases = [
            (
                {**apply_body, "lines": [machine(0)]},
                ["body", "lines[0].price_rupiah"],
                "invalid.positive",
            ),
            (
                {**apply_body, "lines": [machine(-1)]},
                ["body", "lines[0].price_rupiah"],
                "invalid.positive",
            ),
            (
                {**apply_body, "program_id": "prg-nope"},
                ["body", "program_id"],
                "invalid.unknown_program",
            ),
        ]
        for body, loc, rule in cases:
            r = await sub.client.post("/applications", json=body, headers=owner)
            assert r.status_code == 422 and error_type(r) == (loc, rule), r.text
        past = program_body(**as_json(closed_last_year()))
        closed = (await sub.client.post("/programs", json=past, headers=MINISTRY)).json()
        r = await sub.client.post(
            "/applications", json={**apply_body, "program_id": closed["id"]}, headers=owner
        )
        assert r.status_code == 422 and error_type(r)[1] == "invalid.outside_window"
        r = await sub.client.post(
            "/programs", json=program_body(province_budgets={"34": -5}), headers=MINISTRY
        )
        assert r.status_code == 422 and error_type(r) == (
            ["body", "province_budgets.34"],
            "invalid.min_0",
        )

        # Roles: own NIB only; other regions see nothing; the regional limit.
        stranger = auth_headers("enterprise", nib=random_nib())
        assert (
            await sub.client.post("/applications", json=apply_body, headers=stranger)
        ).status_code == 403
        assert (await sub.client.get(f"/applications/{app['id']}", headers=ACEH)).status_code == 404
        assert (
            await sub.client.post("/programs", json=program_body(), headers=JOGJA)
        ).status_code == 403
        listed = (await sub.client.get("/applications", headers=stranger)).json()["items"]
        assert listed == []
        r = await sub.client.post(f"/applications/{app['id']}/approve", headers=JOGJA)
        assert r.status_code == 403 and error_type(r)[1] == "forbidden.regional_approval_limit"

        # Approve (ministry), 409 on a second approval, idempotent disbursement.
        r = await sub.client.post(f"/applications/{app['id']}/approve", headers=MINISTRY)
        assert r.status_code == 200 and r.json()["status"] == "approved", r.text
        r = await sub.client.post(f"/applications/{app['id']}/approve", headers=MINISTRY)
        assert r.status_code == 409 and error_type(r)[1] == "conflict.cannot_approve_approved"
        pay = {"payment_reference": "SP2D-2025-0001"}
        for _ in range(2):
            r = await sub.client.post(
                f"/applications/{app['id']}/disburse", json=pay, headers=MINISTRY
            )
            assert r.status_code == 200 and r.json()["status"] == "disbursed", r.text

        # A small one the regional officer may approve... after rejecting it, no payment.
        small = (
            await sub.client.post(
                "/applications", json={**apply_body, "lines": [machine(10_000_000)]}, headers=owner
            )
        ).json()
        r = await sub.client.post(
            f"/applications/{small['id']}/reject",
            json={"reason": "invoice unreadable"},
            headers=JOGJA,
        )
        assert r.status_code == 200 and r.json()["rejection"]["rule"] == "reviewer_decision"
        r = await sub.client.post(
            f"/applications/{small['id']}/disburse", json=pay, headers=MINISTRY
        )
        assert r.status_code == 409 and error_type(r)[1] == "conflict.cannot_disburse_rejected"

        # Budget report reconciles; regional officers see their own province only.
        report = (await sub.client.get("/budgets", params={"province": "34"}, headers=JOGJA)).json()
        mine = next(b for b in report["items"] if b["program_id"] == program["id"])
        assert (mine["disbursed_rupiah"], mine["remaining_rupiah"]) == (15_000_000, 85_000_000)
        assert report["totals"]["reconciles"]
        assert (
            await sub.client.get("/budgets", params={"province": "11"}, headers=JOGJA)
        ).status_code == 403
        stats = (await sub.client.get("/stats", headers=MINISTRY)).json()
        row = next(r for r in stats["by_program"] if r["key"] == program["id"])
        assert (row["applications"], row["approvals"], row["disbursed_rupiah"]) == (
            2,
            1,
            15_000_000,
        )

        # Suspension in the registry puts the open application on hold.
        waiting = (await sub.client.post("/applications", json=apply_body, headers=owner)).json()
        assert (
            await reg.client.post(
                f"/enterprises/{nib}/suspend", json={"reason": "audit"}, headers=MINISTRY
            )
        ).status_code == 200

        async def held() -> dict[str, Any] | None:
            got = (await sub.client.get(f"/applications/{waiting['id']}", headers=owner)).json()
            return got if got["status"] == "on_hold" else None

        assert (await eventually(held))["status_before_hold"] == "submitted"
        r = await sub.client.post("/applications", json=apply_body, headers=owner)
        assert r.status_code == 422 and error_type(r)[1] == "invalid.enterprise_suspended"
