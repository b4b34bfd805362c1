"""Subsidy gaps of issue #13 over HTTP and the real broker: starting a review publishes
``SubsidyReviewStarted`` (who, when), and ``/stats`` names each program next to its id."""

from __future__ import annotations

import httpx
from aiokafka import AIOKafkaConsumer

from contracts.subsidy import APPLICATION_TOPIC
from ikmkit.messaging.cloudevents import decode
from ikmkit.store import Store
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from services.subsidy.main import definition as subsidy_definition
from services.subsidy.settings import SubsidySettings
from tests.conftest import make_store
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


async def _types_of(kafka: str, application_id: str) -> list[tuple[str, dict[str, object]]]:
    consumer = AIOKafkaConsumer(
        APPLICATION_TOPIC, bootstrap_servers=kafka, group_id=None, auto_offset_reset="earliest"
    )
    await consumer.start()
    found: list[tuple[str, dict[str, object]]] = []
    try:
        for _ in range(50):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    if record.key == application_id.encode():
                        event = decode(record.headers, record.value).event
                        found.append((type(event).__name__, event.model_dump(mode="json")))
            if any(name == "SubsidyReviewStarted" for name, _ in found):
                break
    finally:
        await consumer.stop()
    return found


async def test_review_is_announced_and_stats_name_programs(
    kafka: str, fresh_store: Store, tmp_path
) -> None:
    registry = registry_definition(
        RegistrySettings(kafka_bootstrap_servers=kafka), store=make_store("sqlite", tmp_path, None)
    )
    subsidy = subsidy_definition(SubsidySettings(kafka_bootstrap_servers=kafka), store=fresh_store)
    nib = random_nib()
    owner = auth_headers("enterprise", nib=nib)
    async with running_service(registry) as reg, running_service(subsidy) as sub:
        body = program_body(name="Sertifikasi TKDN IKM 2026")
        program = (await sub.client.post("/programs", json=body, headers=MINISTRY)).json()
        assert (
            await reg.client.post("/enterprises", json=enterprise_body(nib), headers=MINISTRY)
        ).status_code == 201
        assert (
            await reg.client.post(f"/enterprises/{nib}/verify", headers=JOGJA)
        ).status_code == 200
        apply_body = {"program_id": program["id"], "nib": nib, "lines": [machine(10_000_000)]}

        async def applied() -> httpx.Response | None:
            r = await sub.client.post("/applications", json=apply_body, headers=owner)
            return r if r.status_code == 201 else None

        app = (await eventually(applied)).json()
        r = await sub.client.post(f"/applications/{app['id']}/review", headers=JOGJA)
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["reviewer"]) == ("under_review", "test-regional")
        stats = (await sub.client.get("/stats", headers=MINISTRY)).json()
        row = next(r for r in stats["by_program"] if r["key"] == program["id"])
        assert (row["name"], row["applications"]) == ("Sertifikasi TKDN IKM 2026", 1)
        events = await _types_of(kafka, app["id"])
    assert [name for name, _ in events] == ["SubsidyApplied", "SubsidyReviewStarted"]
    started = events[1][1]
    assert (started["reviewer"], started["program_name"]) == (
        "test-regional",
        "Sertifikasi TKDN IKM 2026",
    )
    assert started["review_started_at"]
