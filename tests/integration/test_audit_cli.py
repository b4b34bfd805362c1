"""``ikm audit`` from the command line, against stores the services wrote through the real stack.

The services run in-process on their real runtime with the SQLite files ``ikm`` resolves
from ``IKM_DATA_DIR``; the commands run through typer exactly as an operator types them,
in a thread (they call ``asyncio.run``), on their own embedded broker.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner, Result

from contracts.catalog import all_topics
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseVerified
from ikm_cli.audit_rebuild import load_definition
from ikm_cli.main import app
from ikmdev.infra import EmbeddedKafka
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_STREAMS, Outbox
from ikmkit.store.resolve import store_for
from services.registry.main import definition as registry_definition
from tests.support.audit import (
    copy_stores,
    four_services,
    http_services,
    register,
    wait_consumed,
)
from tests.support.kafka import header, read_topic
from tests.support.service import auth_headers
from tests.support.values import random_nib

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
            verified = await services["registry"].client.post(
                f"/enterprises/{nibs[0]}/verify", headers=auth_headers("ministry")
            )
            assert verified.status_code == 200, verified.text
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
    document: dict[str, Any] = json.loads(await asyncio.to_thread(report.read_text))
    return document


async def rebuild_every_service(kafka: str, data_dir: Path, reports: Path) -> None:
    for service, collection in REBUILT.items():
        document = await rebuild_cli(service, kafka, data_dir, reports / f"{service}.json")
        live, rebuilt = (
            document["compared"][collection]["live"],
            document["compared"][collection]["rebuilt"],
        )
        assert live == rebuilt and live >= 3, (service, document["compared"])
        assert document["events_replayed"] >= 3
        assert document["differences"] == [] and document["stream_differences"] == []
    registry = await rebuild_cli("registry", kafka, data_dir, reports / "registry.json")
    assert registry["stream_differences"] == []
    assert "*" in registry["skipped"]


async def test_rebuild_command_reports_no_differences_for_every_service(
    written: list[str], cli_kafka: str, data_dir: Path, tmp_path: Path
) -> None:
    """On the stores the services left when they stopped (after a restart and a lost log:
    ``test_after_the_log_was_lost_and_republished_replay_and_rebuild_find_nothing``)."""
    await rebuild_every_service(cli_kafka, data_dir, tmp_path)


async def test_rebuild_command_finds_a_stream_head_the_log_lacks(
    written: list[str], cli_kafka: str, data_dir: Path, tmp_path: Path
) -> None:
    """The registry's check is real: a head the log does not hold is a difference, exit 1."""
    stores = copy_stores(data_dir, tmp_path / "stores")
    store = store_for("registry", mongodb_url=None, data_dir=stores)
    await store.open(registry_definition().store_collections())
    async with store.transaction() as uow:
        await uow.insert(
            OUTBOX_STREAMS,
            {"id": f"{ENTERPRISE_TOPIC}|9999999999999", "sequence": 2, "hash": "0" * 64},
        )
    await store.close()
    report = tmp_path / "registry.json"
    result = await ikm(
        "audit", "rebuild", "registry", "--kafka", cli_kafka, "--report", str(report),
        env={"IKM_DATA_DIR": str(stores), "MONGODB_URL": ""},
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    document = json.loads(await asyncio.to_thread(report.read_text))
    [difference] = document["stream_differences"]
    assert (difference["subject"], difference["store_sequence"]) == ("9999999999999", 2)
    assert difference["log_sequence"] is None
    assert difference["detail"].startswith("missing: 2 published events missing from the log")


# ------------------------------------------------------------------ replay against the outboxes

SERVICE_NAMES = ("registry", "subsidy", "training", "notify")
STORES = [arg for name in SERVICE_NAMES for arg in ("--store", name)]


@pytest.fixture
def other_kafka() -> Iterator[str]:
    """A second broker: the log as it is after a restart lost it (topics, no records)."""
    broker = EmbeddedKafka().start()
    asyncio.run(ensure_topics(broker.bootstrap_servers, all_topics()))
    yield broker.bootstrap_servers
    broker.stop()


def replay_cli(kafka: str, data_dir: Path, report: Path, *args: str) -> tuple[Result, Any]:
    result = CliRunner().invoke(
        app,
        ["audit", "replay", "--kafka", kafka, "--report", str(report), *args],
        env={"IKM_DATA_DIR": str(data_dir), "MONGODB_URL": "", "IKM_AUDIT_SERVICES": None},
    )
    document = json.loads(report.read_text()) if report.exists() else None
    return result, document


def findings(document: dict[str, Any], kind: str) -> list[tuple[str, str, int]]:
    return sorted(
        (f["topic"], f["subject"], f["sequence"]) for f in document["findings"] if f["kind"] == kind
    )


def test_replay_of_an_emptied_log_reports_every_published_event_missing(
    written: list[str], data_dir: Path, other_kafka: str, tmp_path: Path
) -> None:
    result, document = replay_cli(other_kafka, data_dir, tmp_path / "r.json", *STORES)
    assert result.exit_code == 1, result.output
    outbox = document["outbox"]
    assert outbox["published"] >= 4 and outbox["missing"] == outbox["published"]
    assert outbox["by_topic"][ENTERPRISE_TOPIC]["on_log"] == 0
    assert document["findings_by_kind"]["missing"] == outbox["streams"]
    missing = findings(document, "missing")
    assert all(sequence == 1 for _, _, sequence in missing)
    assert {(ENTERPRISE_TOPIC, nib, 1) for nib in written} <= set(missing)
    assert "THE LOG IS MISSING" in result.output

    # an audit that cannot compare refuses to pass silently
    alone, _ = replay_cli(other_kafka, data_dir, tmp_path / "alone.json")
    assert alone.exit_code == 2, alone.output
    assert "no services to compare the log with" in alone.output
    explicit, document = replay_cli(other_kafka, data_dir, tmp_path / "l.json", "--log-only")
    assert explicit.exit_code == 0, explicit.output
    assert document["outbox"] is None and "log only" in explicit.output


def test_replay_of_a_partial_log_reports_what_is_missing_and_from_which_sequence(
    written: list[str], cli_kafka: str, data_dir: Path, other_kafka: str, tmp_path: Path
) -> None:
    verified, dropped = written[0], written[1]
    asyncio.run(copy_log(cli_kafka, other_kafka, drop={(verified, "2"), (dropped, "1")}))
    result, document = replay_cli(other_kafka, data_dir, tmp_path / "r.json", *STORES)
    assert result.exit_code == 1, result.output
    assert findings(document, "missing") == sorted(
        [(ENTERPRISE_TOPIC, verified, 2), (ENTERPRISE_TOPIC, dropped, 1)]
    )
    assert document["outbox"]["missing"] == 2
    assert document["findings_by_kind"] == {"missing": 2}
    # the same with the partitions shared by worker processes
    shared, parallel = replay_cli(
        other_kafka, data_dir, tmp_path / "p.json", *STORES, "--workers", "3"
    )
    assert shared.exit_code == 1, shared.output
    assert parallel["findings"] == document["findings"]
    assert parallel["outbox"]["by_topic"] == document["outbox"]["by_topic"]


async def copy_log(source: str, target: str, *, drop: set[tuple[str, str]]) -> None:
    """Every record of every ikm topic from ``source`` to ``target``, except (subject, seq)."""
    producer = AIOKafkaProducer(bootstrap_servers=target, enable_idempotence=False)
    await producer.start()
    try:
        for topic in all_topics():
            for record in await read_topic(source, topic):
                sequence = str(int(header(record, "ce_sequence") or "0"))  # padded on the log
                marks = (header(record, "ce_subject"), sequence)
                if marks in drop:
                    continue
                await producer.send_and_wait(
                    topic, record.value, key=record.key, headers=list(record.headers)
                )
    finally:
        await producer.stop()


def test_replay_of_the_full_log_against_the_running_services_finds_nothing(
    written: list[str], cli_kafka: str, data_dir: Path, tmp_path: Path
) -> None:
    with http_services(cli_kafka, data_dir) as urls:
        services = [arg for url in urls.values() for arg in ("--service", url)]
        result, document = replay_cli(cli_kafka, data_dir, tmp_path / "r.json", *services)
        registry = urls["registry"]
        forbidden = httpx.get(
            f"{registry}/audit/heads", headers=auth_headers("enterprise", nib=written[0])
        )
        pages = heads_in_pages(registry, limit=1)
    assert result.exit_code == 0, result.output
    assert document["findings"] == []
    outbox = document["outbox"]
    assert set(outbox["sources"]) == set(SERVICE_NAMES)
    assert outbox["missing"] == 0 and outbox["published"] >= 4
    enterprise = outbox["by_topic"][ENTERPRISE_TOPIC]
    assert enterprise["published"] == enterprise["on_log"] >= 4
    assert forbidden.status_code == 403
    # keyset pages of one stream each add up to every stream, the relay's lease excluded
    assert {(h["topic"], h["aggregate"]) for h in pages} >= {
        (ENTERPRISE_TOPIC, nib) for nib in written
    }
    assert len(pages) == len({(h["topic"], h["aggregate"]) for h in pages})
    assert all(h["aggregate"] and h["unsent"] == 0 for h in pages)


def heads_in_pages(url: str, *, limit: int) -> list[dict[str, Any]]:
    heads: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = httpx.get(
            f"{url}/audit/heads", params=params, headers=auth_headers("service"), timeout=10
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["items"]) <= limit
        heads += body["items"]
        if body["next"] is None:
            return heads
        params["after"] = body["next"]


def test_replay_reports_a_tampered_head_an_unknown_stream_and_tells_unsent_from_missing(
    written: list[str], cli_kafka: str, data_dir: Path, tmp_path: Path
) -> None:
    tampered, unsent, unknown = written
    copy = copy_stores(data_dir, tmp_path / "stores")
    asyncio.run(alter_registry_outbox(copy, tampered=tampered, unsent=unsent, unknown=unknown))
    result, document = replay_cli(cli_kafka, copy, tmp_path / "r.json", "--store", "registry")
    assert result.exit_code == 1, result.output
    assert findings(document, "head_mismatch") == [(ENTERPRISE_TOPIC, tampered, 2)]
    assert findings(document, "not_in_outbox") == [(ENTERPRISE_TOPIC, unknown, 1)]
    # an event committed but not yet relayed is the relay's backlog, not a missing event
    assert findings(document, "unsent") == [(ENTERPRISE_TOPIC, unsent, 2)]
    assert document["findings_by_kind"] == {"head_mismatch": 1, "not_in_outbox": 1, "unsent": 1}
    assert document["outbox"]["missing"] == 0 and document["outbox"]["unsent"] == 1
    assert "THE LOG IS MISSING" not in result.output


async def alter_registry_outbox(
    data_dir: Path, *, tampered: str, unsent: str, unknown: str
) -> None:
    store = store_for("registry", mongodb_url=None, data_dir=data_dir)
    await store.open(registry_definition().store_collections())
    try:
        async with store.transaction() as uow:
            head = await uow.get(OUTBOX_STREAMS, f"{ENTERPRISE_TOPIC}|{tampered}")
            assert head is not None and head["sequence"] == 2
            await uow.replace(OUTBOX_STREAMS, {**head, "hash": "f" * 64})
            await uow.delete(OUTBOX_STREAMS, f"{ENTERPRISE_TOPIC}|{unknown}")
            event = EnterpriseVerified(
                nib=unsent, province="34", verified_by="officer", verified_at=datetime.now(UTC)
            )
            await Outbox("/ikm/registry").add(uow, event)
    finally:
        await store.close()


async def test_after_the_log_was_lost_and_republished_replay_and_rebuild_find_nothing(
    written: list[str], data_dir: Path, other_kafka: str, tmp_path: Path
) -> None:
    """The whole loop: the log is lost (a new broker), the outboxes publish it again, the audit
    is clean. The republish here is a stand-in (every outbox row marked unsent, so the real
    relays publish it all again); the operator's republish command is built on branch relay."""
    stores = copy_stores(data_dir, tmp_path / "stores")
    for name in SERVICE_NAMES:
        await mark_unsent(stores, name)
    async with four_services(other_kafka, stores) as services:
        await wait_consumed(other_kafka, services)
    result, document = await asyncio.to_thread(
        replay_cli, other_kafka, stores, tmp_path / "r.json", *STORES
    )
    assert result.exit_code == 0, result.output
    assert document["findings"] == [] and document["outbox"]["missing"] == 0
    assert document["outbox"]["published"] >= 4
    await rebuild_every_service(other_kafka, stores, tmp_path)


async def mark_unsent(data_dir: Path, service: str) -> None:
    store = store_for(service, mongodb_url=None, data_dir=data_dir)
    await store.open(load_definition(service).store_collections())
    try:
        async with store.transaction() as uow:
            rows = await uow.find(OUTBOX, {"sent": True}, limit=100_000)
            await uow.patch_many(OUTBOX, [r["id"] for r in rows.items], {"sent": False})
    finally:
        await store.close()
