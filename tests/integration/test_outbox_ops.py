"""What an operator sees and does about parked events and lost topics: /readyz, /metrics,
the ``/ops/outbox`` endpoints and the ``ikm outbox`` commands, against a served registry."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import uvicorn
from typer.testing import CliRunner

from contracts.registry import ENTERPRISE_TOPIC
from ikm_cli.main import app as cli
from ikmdev.infra import free_port
from ikmkit.auth import issue_token
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.service.runtime import Runtime, create_service_app
from ikmkit.service.settings import DEV_JWT_SECRET
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from tests.conftest import make_store
from tests.support.kafka import eventually
from tests.support.registry_api import enterprise_body
from tests.support.relay import probe_event, unique_topic
from tests.support.relay_parked import OVERSIZED, on_topic

MINISTRY = issue_token(DEV_JWT_SECRET, subject="ops-test", role="ministry")


@asynccontextmanager
async def served(kafka: str, tmp_path: Path) -> AsyncIterator[tuple[str, Runtime]]:
    """The registry behind a real HTTP server, so the CLI talks to it over the network."""
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    app = create_service_app(
        registry_definition(settings, store=make_store("sqlite", tmp_path, None))
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: _started(server), timeout=30)
        yield f"http://127.0.0.1:{port}", app.state.runtime
    finally:
        server.should_exit = True
        await task


async def _started(server: uvicorn.Server) -> bool:
    return server.started


async def ikm(*args: str) -> tuple[int, str]:
    """Run ``ikm ...`` in a thread (it blocks on HTTP to the server on this loop)."""
    result = await asyncio.to_thread(CliRunner().invoke, cli, list(args))
    return result.exit_code, result.output


async def test_an_operator_sees_a_parked_event_and_retries_it(kafka: str, tmp_path: Path) -> None:
    topic = unique_topic()
    await ensure_topics(kafka, [topic], partitions=3)
    event = probe_event(topic)
    async with served(kafka, tmp_path) as (url, runtime), httpx.AsyncClient(base_url=url) as http:
        async with runtime.store.transaction() as uow:
            big = (await runtime.outbox.add(uow, event(key="k", note=OVERSIZED))).id
            behind = (await runtime.outbox.add(uow, event(key="k", note="next"))).id

        async def degraded() -> httpx.Response | None:
            ready = await http.get("/readyz")
            return ready if ready.status_code == 503 else None

        ready = await eventually(degraded)
        assert ready.json()["status"] == "degraded"
        assert ready.json()["checks"]["parked"].startswith("1 events parked")
        assert 'ikm_outbox_parked{service="registry"} 1.0' in (await http.get("/metrics")).text

        code, out = await ikm("outbox", "parked", "--url", url, "--token", MINISTRY, "--json")
        assert code == 0, out
        [listed] = json.loads(out)
        assert (listed["id"], listed["held_behind"]) == (big, 1)
        assert "MessageSizeTooLargeError" in listed["reason"]
        enterprise = issue_token(DEV_JWT_SECRET, subject="e", role="enterprise", nib="1" * 13)
        denied = await http.get(
            "/ops/outbox/parked", headers={"Authorization": f"Bearer {enterprise}"}
        )
        assert denied.status_code == 403

        code, out = await ikm("outbox", "retry", big, "--url", url, "--token", MINISTRY)
        assert code == 1 and "still refused" in out  # nothing fixed yet: it stays parked
        code, out = await ikm("outbox", "retry", big, "--force", "--url", url, "--token", MINISTRY)
        assert code == 0 and "1 held events released" in out, out

        async def published() -> bool:
            return (await on_topic(kafka, topic)).get("k") == [big, behind]

        await eventually(published)
        ready_again = await eventually(
            lambda: _status(http, "/readyz", 200), timeout=30
        )  # fmt: skip
        assert ready_again.json()["checks"]["parked"] == "ok"
        code, out = await ikm("outbox", "status", "--url", url, "--token", MINISTRY, "--json")
        assert code == 0 and json.loads(out)["parked"] == 0


async def test_an_operator_republishes_a_topic_from_the_outbox(kafka: str, tmp_path: Path) -> None:
    topic = unique_topic()
    await ensure_topics(kafka, [topic], partitions=3)
    event = probe_event(topic)
    async with served(kafka, tmp_path) as (url, runtime):
        async with runtime.store.transaction() as uow:
            ids = [(await runtime.outbox.add(uow, event(key=f"k{n}"))).id for n in range(5)]

        async def on_log() -> list[str]:
            return sorted(i for mine in (await on_topic(kafka, topic)).values() for i in mine)

        await eventually(lambda: _equals(on_log, sorted(ids)))
        code, out = await ikm(
            "outbox", "republish", "--topic", topic, "--url", url, "--token", MINISTRY
        )
        assert code == 0 and f"republishing 5 events of {topic}" in out, out
        await eventually(lambda: _equals(on_log, sorted(ids * 2)))
        code, out = await ikm("outbox", "verify", "--url", url, "--token", MINISTRY)
        assert code == 0 and "log intact" in out
        async with httpx.AsyncClient(base_url=url) as http:
            auth = {"Authorization": f"Bearer {MINISTRY}"}
            unknown = await http.post(f"/ops/outbox/republish?topic={unique_topic()}", headers=auth)
            assert unknown.status_code == 404 and "holds no event" in unknown.text
            invalid = await http.post("/ops/outbox/republish?topic=no%20spaces", headers=auth)
            assert invalid.status_code == 422


async def _status(http: httpx.AsyncClient, path: str, status: int) -> httpx.Response | None:
    response = await http.get(path)
    return response if response.status_code == status else None


async def _equals(probe: object, expected: list[str]) -> bool:
    return await probe() == expected  # type: ignore[operator, no-any-return]


async def test_republish_finds_the_topics_owner_without_being_told(
    kafka: str, tmp_path: Path
) -> None:
    """docs/operations.md says `ikm outbox republish --topic T` "on the owning service": a domain
    topic names its owner (contracts.catalog), so the command finds it (IKM_REGISTRY_URL here)."""
    async with served(kafka, tmp_path) as (url, _):
        async with httpx.AsyncClient(base_url=url) as http:
            auth = {"Authorization": f"Bearer {MINISTRY}"}
            created = await http.post("/enterprises", json=enterprise_body(), headers=auth)
            assert created.status_code == 201, created.text
        env = {"IKM_REGISTRY_URL": url, "IKM_URL": None, "IKM_TOKEN": MINISTRY}
        result = await asyncio.to_thread(
            CliRunner().invoke, cli, ["outbox", "republish", "--topic", ENTERPRISE_TOPIC], env=env
        )
        assert result.exit_code == 0, result.output
        assert f"republishing 1 events of {ENTERPRISE_TOPIC}" in result.output
        result = await asyncio.to_thread(CliRunner().invoke, cli, ["outbox", "parked"], env=env)
        assert result.exit_code != 0 and "--service" in result.output, result.output
