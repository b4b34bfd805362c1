"""The compose topic job (deploy/docker/create_topics.py) against the real embedded broker."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from contracts.catalog import all_topics

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "docker" / "create_topics.py"


async def test_creates_every_contract_topic_and_is_idempotent(
    kafka: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka)
    monkeypatch.setenv("IKM_TOPIC_PARTITIONS", "3")
    job = runpy.run_path(str(SCRIPT))
    await job["main"]()
    await job["main"]()  # a second run (compose restarts, upgrades) changes nothing and fails not
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka)
    await admin.start()
    try:
        described = {d["topic"]: d for d in await admin.describe_topics(all_topics())}
    finally:
        await admin.close()
    assert set(described) == set(all_topics())
    for topic, description in described.items():
        assert len(description["partitions"]) >= 3, topic
