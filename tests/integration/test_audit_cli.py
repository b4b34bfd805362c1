"""``ikm audit`` from the command line, against stores the services wrote through the real stack.

The services run in-process on their real runtime with the SQLite files ``ikm`` resolves
from ``IKM_DATA_DIR``; the commands run through typer exactly as an operator types them,
in a thread (they call ``asyncio.run``), on their own embedded broker.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from ikm_cli.main import app
from ikmkit.infra import EmbeddedKafka, store_for
from services.registry.main import definition as registry_definition
from tests.support.audit import four_services, random_nib, register, wait_consumed

REBUILT = {"subsidy": "enterprises", "training": "enterprise_replica", "notify": "notifications"}


@pytest.fixture(scope="module")
def cli_kafka() -> Iterator[str]:
    broker = EmbeddedKafka().start()
    yield broker.bootstrap_servers
    broker.stop()


async def ikm(*args: str, env: dict[str, str] | None = None) -> Result:
    return await asyncio.to_thread(CliRunner().invoke, app, list(args), env=env)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("stores")


@pytest.fixture(scope="module")
def written(cli_kafka: str, data_dir: Path) -> list[str]:
    """The four services ran: three enterprises registered, every event consumed; stopped."""

    async def run() -> list[str]:
        async with four_services(cli_kafka, data_dir) as services:
            nibs = [random_nib() for _ in range(3)]
            await register(services["registry"], nibs)
            await wait_consumed(cli_kafka, services)
        return nibs

    return asyncio.run(run())


async def rebuild_cli(service: str, kafka: str, data_dir: Path, report: Path) -> dict[str, Any]:
    result = await ikm(
        "audit", "rebuild", service, "--kafka", kafka, "--report", str(report),
        env={"IKM_DATA_DIR": str(data_dir), "MONGODB_URL": ""},
    )  # fmt: skip
    assert result.exit_code == 0, (service, result.output, repr(result.exception))
    assert "no differences" in result.output
    document: dict[str, Any] = json.loads(report.read_text())
    return document


async def rebuild_every_service(kafka: str, data_dir: Path, reports: Path) -> None:
    for service, collection in REBUILT.items():
        document = await rebuild_cli(service, kafka, data_dir, reports / f"{service}.json")
        live, rebuilt = document["compared"][collection]["live"], document["compared"][
            collection
        ]["rebuilt"]
        assert live == rebuilt and live >= 3, (service, document["compared"])
        assert document["events_replayed"] >= 3
        assert document["differences"] == [] and document["stream_differences"] == []
    registry = await rebuild_cli("registry", kafka, data_dir, reports / "registry.json")
    assert registry["stream_differences"] == []
    assert "*" in registry["skipped"]


async def test_rebuild_command_reports_no_differences_for_every_service_after_a_restart(
    written: list[str], cli_kafka: str, data_dir: Path, tmp_path: Path
) -> None:
    # the services were stopped; started again on the same stores and broker, audited running
    async with four_services(cli_kafka, data_dir) as services:
        await wait_consumed(cli_kafka, services)
        await rebuild_every_service(cli_kafka, data_dir, tmp_path)


async def test_rebuild_command_finds_a_stream_head_the_log_lacks(
    written: list[str], cli_kafka: str, data_dir: Path
) -> None:
    """The registry's check is real: a head the log does not hold is a difference, exit 1."""
    store = store_for("registry", mongodb_url=None, data_dir=data_dir)
    await store.open(registry_definition().store_collections())
    async with store.transaction() as uow:
        await uow.insert(
            "outbox_streams",
            {"id": "ikm.registry.enterprise.v1|9999999999999", "sequence": 2, "hash": "0" * 64},
        )
    try:
        result = await ikm(
            "audit", "rebuild", "registry", "--kafka", cli_kafka,
            env={"IKM_DATA_DIR": str(data_dir), "MONGODB_URL": ""},
        )  # fmt: skip
        assert result.exit_code == 1, result.output
        assert "9999999999999: not in the log" in result.output
    finally:
        async with store.transaction() as uow:
            await uow.delete("outbox_streams", "ikm.registry.enterprise.v1|9999999999999")
        await store.close()
