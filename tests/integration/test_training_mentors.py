"""Training service in-process on the real broker and both store adapters: mentors assigned
under a link-and-match MoU, as the registry's MoU events arrive over Kafka."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from contracts.registry import (
    MoUParty,
    MoUSigned,
    MoUTerminated,
)
from ikmkit.store import Store
from services.training.main import definition
from services.training.settings import TrainingSettings
from tests.support.service import auth_headers, running_service
from tests.support.training_feed import (
    MINISTRY,
    TODAY,
    enterprise_registered,
    eventually,
    registry_feed,
)
from tests.support.values import random_nib


async def test_mentor_assignment_follows_the_mou(
    kafka: str, fresh_store: Store, tmp_path: Path
) -> None:
    settings = TrainingSettings(kafka_bootstrap_servers=kafka)
    nib = random_nib()
    partner = f"pii-bkti-{uuid.uuid4().hex[:6]}"
    mou_id = f"mou-{uuid.uuid4().hex[:8]}"
    parties = [MoUParty(partner_id="ministry"), MoUParty(partner_id=partner)]
    assignment = {"nib": nib, "partner_id": partner, "mentor_name": "Ir. Bambang"}
    async with (
        registry_feed(kafka, tmp_path) as feed,
        running_service(definition(settings, store=fresh_store)) as svc,
    ):
        client = svc.client
        await feed.publish(enterprise_registered(nib, province="34"))

        async def refused_for_mou() -> httpx.Response | None:
            r = await client.post("/mentor-assignments", json=assignment, headers=MINISTRY)
            return r if r.status_code == 409 else None

        refusal = await eventually(refused_for_mou, "the enterprise replica")
        assert refusal.json()["rule"] == "conflict.mou_required"

        # MoU events on their own topic, with no PartnerRegistered ever sent.
        await feed.publish(
            MoUSigned(
                mou_id=mou_id,
                title="Pendampingan teknis IKM",
                scope="technical_assistance",
                parties=parties,
                valid_from=TODAY - timedelta(days=1),
                valid_until=TODAY + timedelta(days=365),
                signed_on=TODAY,
                document_ref="NK/01/IKMA/2026",
                signed_at=datetime.now(UTC),
            )
        )

        async def accepted() -> dict[str, Any] | None:
            r = await client.post("/mentor-assignments", json=assignment, headers=MINISTRY)
            return r.json() if r.status_code == 201 else None

        made = await eventually(accepted, "the MoU replica")
        assert (made["mou_id"], made["province"], made["status"]) == (mou_id, "34", "active")

        await feed.publish(
            MoUTerminated(
                mou_id=mou_id,
                scope="technical_assistance",
                parties=parties,
                reason="partner withdrew",
                terminated_by="ministry",
                terminated_at=datetime.now(UTC),
            )
        )

        async def ended() -> dict[str, Any] | None:
            r = await client.get(
                "/mentor-assignments", params={"enterprise": nib}, headers=MINISTRY
            )
            items = r.json()["items"]
            return items[0] if items and items[0]["status"] == "ended" else None

        path = f"/mentor-assignments/{made['id']}"
        assert (await client.get(path, headers=auth_headers("regional", province="34"))).is_success
        for outsider in (
            auth_headers("regional", province="31"),
            auth_headers("partner", partner_id="another-partner"),
            auth_headers("enterprise", nib=random_nib()),
        ):
            assert (await client.get(path, headers=outsider)).status_code == 404

        gone = await eventually(ended, "the assignment to end")
        assert gone["end_reason"] == "mou_terminated"
        # Ending it again by hand: 409, and nothing more on its stream; a stranger: 404.
        again = await client.post(f"{path}/end", headers=MINISTRY)
        assert (again.status_code, again.json()["rule"]) == (409, "conflict.assignment_ended")
        stranger = auth_headers("partner", partner_id="another-partner")
        assert (await client.post(f"{path}/end", headers=stranger)).status_code == 404
        async with svc.runtime.store.transaction() as uow:
            stream = await uow.find("outbox", {"key": made["id"]}, order_by=[("sequence", 1)])
        assert [row["headers"]["ce_type"].rsplit(".", 2)[-2] for row in stream.items] == [
            "MentorAssigned",
            "MentorAssignmentEnded",
        ]
        after = await client.post("/mentor-assignments", json=assignment, headers=MINISTRY)
        assert after.json()["rule"] == "conflict.mou_terminated"
