"""The orchestrator's readiness probe, as the Kubernetes manifests configure it, keeps a replica
in its Service through what every replica shares and HTTP does not need (a parked event, a
broker outage and the outbox backlog it grows: commands still answer 201 into the outbox), and
takes it out when its store fails. /readyz keeps saying all of it (503) for people and alerts.

The kubelet counts any status from 200 to 399 as success; the probe is read from the rendered
prod overlay, so a manifest pointing at a check that fails on shared faults fails here.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import Any

from ikmdev.infra import EmbeddedKafka
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from tests.conftest import make_store
from tests.deploy.manifests import by_kind, rendered
from tests.support.registry_api import MINISTRY, enterprise_body
from tests.support.service import RunningService, running_service


def kubelet_readiness_path(service: str) -> str:
    deployment = by_kind(rendered("prod"), "Deployment")[service]
    probe = deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    path: str = probe["httpGet"]["path"]
    return path


async def kubelet_says_ready(service: RunningService, path: str) -> bool:
    return 200 <= (await service.client.get(path)).status_code < 400


async def until(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s")
        await asyncio.sleep(0.1)


async def readyz(service: RunningService) -> tuple[int, dict[str, Any]]:
    response = await service.client.get("/readyz")
    return response.status_code, response.json()


async def test_the_kubelet_probe_keeps_a_replica_serving_through_shared_faults(
    own_broker: EmbeddedKafka, tmp_path: Path
) -> None:
    path = kubelet_readiness_path("registry")
    # The registry's own size check parks every event (an operator-sized limit, e.g. after
    # a broker whose message.max.bytes is lower than the service thinks).
    # A backlog limit of 1: the second event waiting (the broker gone) fails /readyz's outbox
    # check, as a long outage at campaign load would pass the default 50,000.
    settings = RegistrySettings(
        kafka_bootstrap_servers=own_broker.bootstrap_servers,
        outbox_max_message_bytes=200,
        ready_max_outbox_backlog=1,
    )
    definition = registry_definition(settings, store=make_store("sqlite", tmp_path, None))
    async with running_service(definition) as reg:
        assert await kubelet_says_ready(reg, path)

        created = await reg.client.post("/enterprises", json=enterprise_body(), headers=MINISTRY)
        assert created.status_code == 201, created.text

        async def parked() -> bool:
            return (await readyz(reg))[1]["status"] == "degraded"

        await until(parked, 15)
        assert (await readyz(reg))[0] == 503  # people and alerts still see it
        assert await kubelet_says_ready(reg, path), "one parked event took the API down"

        assert own_broker.pid is not None
        os.kill(own_broker.pid, signal.SIGKILL)

        async def broker_down() -> bool:
            return "broker" in (await readyz(reg))[1]["failing"]

        await until(broker_down, 15)
        again = await reg.client.post("/enterprises", json=enterprise_body(), headers=MINISTRY)
        assert again.status_code == 201, again.text  # into the outbox: the API works
        assert await kubelet_says_ready(reg, path), "a broker outage took the API down"
        assert "outbox" in (await readyz(reg))[1]["failing"]  # the backlog over its limit
        assert await kubelet_says_ready(reg, path), "an outbox backlog took the API down"

        await reg.runtime.store.close()  # this replica's store is gone: it cannot serve
        assert not await kubelet_says_ready(reg, path)
