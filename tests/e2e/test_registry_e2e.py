"""The registry as a real process in the running stack: register, verify and grow an
enterprise, sign an MoU, and find every event on its topic."""

from __future__ import annotations

import httpx

from contracts.registry import ENTERPRISE_TOPIC, MOU_TOPIC
from tests.support.registry_api import (
    MINISTRY,
    enterprise_body,
    mou_body,
    names,
    new_partner_id,
    read_events,
)
from tests.support.service import auth_headers
from tests.support.stack import Stack
from tests.support.values import random_nib


async def test_register_verify_grow_and_sign_an_mou(stack: Stack) -> None:
    nib, partner = random_nib(), new_partner_id()
    officer = auth_headers("regional", province="34")
    async with httpx.AsyncClient(base_url=stack.urls["registry"], timeout=10) as registry:
        created = await registry.post("/enterprises", json=enterprise_body(nib), headers=officer)
        assert created.status_code == 201, created.text
        verified = await registry.post(f"/enterprises/{nib}/verify", headers=officer)
        assert verified.json()["status"] == "active", verified.text
        grown = await registry.patch(
            f"/enterprises/{nib}",
            json={"version": verified.json()["version"], "workforce": 60},
            headers=officer,
        )
        assert grown.json()["size_class"] == "medium", grown.text
        partner_created = await registry.post(
            "/partners",
            json={"partner_id": partner, "name": "PII BKTI", "partner_type": "association"},
            headers=MINISTRY,
        )
        assert partner_created.status_code == 201, partner_created.text
        mou_id = (await registry.post("/mous", json=mou_body(partner), headers=MINISTRY)).json()[
            "mou_id"
        ]
        signed = await registry.post(f"/mous/{mou_id}/sign", json={}, headers=MINISTRY)
        assert signed.status_code == 200, signed.text

    enterprise_events = await read_events(
        stack.kafka, ENTERPRISE_TOPIC, nib, until=lambda e: "EnterpriseClassChanged" in names(e)
    )
    assert names(enterprise_events) == [
        "EnterpriseRegistered",
        "EnterpriseVerified",
        "EnterpriseUpdated",
        "EnterpriseClassChanged",
    ]
    mou_events = await read_events(stack.kafka, MOU_TOPIC, mou_id, until=bool)
    assert names(mou_events) == ["MoUSigned"]
    assert [p.partner_id for p in mou_events[0].parties] == ["ministry", partner]  # type: ignore[attr-defined]
