"""/readyz tells the truth: a dead broker and a stalled consumer make it 503; /healthz stays 200.

The broker test runs its own embedded broker (``ikmdev.infra.EmbeddedKafka``) so it
can kill it; the stall test blocks a real consumer's handler on an ``asyncio.Event``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

from contracts.notify import DELIVERY_TOPIC
from ikmdev.infra import EmbeddedKafka
from ikmkit.messaging.progress import assigned_partitions
from ikmkit.service.settings import ServiceSettings
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from tests.conftest import make_store
from tests.support.kafka import produce_event
from tests.support.notify_dead import HeldConsumer, dead_notification
from tests.support.service import RunningService, running_service


async def readyz(service: RunningService) -> tuple[int, dict[str, Any]]:
    response = await service.client.get("/readyz")
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def until_status(
    service: RunningService, status: int, timeout: float, failing: str | None = None
) -> dict[str, Any]:
    """The first /readyz answer with ``status`` (and, if given, the ``failing`` check)."""
    deadline = time.monotonic() + timeout
    while True:
        code, body = await readyz(service)
        if code == status and (failing is None or failing in body["failing"]):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"/readyz not {status} within {timeout}s: {code} {body}")
        await asyncio.sleep(0.1)


async def test_readyz_names_a_dead_broker_within_seconds_and_recovers(
    own_broker: EmbeddedKafka, tmp_path: Path
) -> None:
    settings = RegistrySettings(kafka_bootstrap_servers=own_broker.bootstrap_servers)
    definition = registry_definition(settings, store=make_store("sqlite", tmp_path, None))
    async with running_service(definition) as reg:
        code, body = await readyz(reg)
        assert code == 200, body
        assert body["checks"]["broker"] == "ok"

        assert own_broker.pid is not None
        os.kill(own_broker.pid, signal.SIGKILL)
        killed = time.monotonic()
        body = await until_status(reg, 503, timeout=10)
        assert time.monotonic() - killed < 8
        assert body["failing"] == ["broker"]
        assert body["checks"]["broker"].startswith("unreachable")
        assert own_broker.bootstrap_servers in body["checks"]["broker"]
        assert (await reg.client.get("/healthz")).status_code == 200  # the process is fine

        own_broker._process = None  # already dead; start a new one on the same port
        own_broker.start()
        body = await until_status(reg, 200, timeout=30)
        assert body["checks"]["broker"] == "ok"


async def test_readyz_names_a_stalled_consumer_and_recovers(
    own_broker: EmbeddedKafka, tmp_path: Path
) -> None:
    # Its own broker: on the session's, other tests' events on the other partitions wait
    # behind the blocked handler too, and the one stalled partition could not be told apart.
    kafka = own_broker.bootstrap_servers
    group = f"stall-{uuid.uuid4().hex[:8]}"
    stuck_id = str(uuid.uuid4())
    held = HeldConsumer(group, held=stuck_id)
    settings = ServiceSettings(kafka_bootstrap_servers=kafka, consumer_stall_seconds=2)
    definition = held.service("stalltest", settings, tmp_path)
    async with running_service(definition) as svc:
        code, body = await readyz(svc)
        assert code == 200, body
        assert body["checks"]["consumers"] == "ok"

        await produce_event(kafka, dead_notification(stuck_id))
        await asyncio.wait_for(held.started.wait(), 30)
        blocked = time.monotonic()
        body = await until_status(svc, 503, timeout=15, failing="consumers")
        waited = time.monotonic() - blocked
        # (SQLite serialises units of work: the blocked handler holds one, so the outbox
        # and parked checks, which read the store, may time out too, which is as true.)
        assert set(body["failing"]) <= {"consumers", "outbox", "parked"}
        mine = [s for s in body["checks"]["stalled"] if s["group"] == group]
        assert [s["topic"] for s in mine] == [DELIVERY_TOPIC]
        assert mine[0]["lag"] == 1
        assert mine[0]["seconds"] >= 2
        assert waited >= 1.5  # not before the configured time (less the probe's interval)
        assert f"{group} {DELIVERY_TOPIC}[{mine[0]['partition']}]" in body["checks"]["consumers"]
        assert (DELIVERY_TOPIC, mine[0]["partition"]) in (
            assigned_partitions(held.consumers[0]) or ()
        )
        assert (await svc.client.get("/healthz")).status_code == 200

        held.release.set()
        body = await until_status(svc, 200, timeout=15)
        assert body["checks"]["consumers"] == "ok"
