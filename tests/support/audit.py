"""The four services on one broker, writing the stores ``ikm`` commands open (for audit tests).

Each service runs in-process on its real runtime (relay, consumers, HTTP API) with the
SQLite file ``store_for`` resolves for it under ``data_dir``, so a command run later with
``IKM_DATA_DIR=data_dir`` opens exactly the store the service wrote.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import AsyncIterator, Collection, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import uvicorn

from contracts.base import Event
from contracts.registry import (
    EnterpriseClassChanged,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
)
from ikmdev.infra import free_port
from ikmkit.audit.replay import replay
from ikmkit.messaging import inbox
from ikmkit.messaging.outbox import outbox_backlog
from ikmkit.service.runtime import ServiceDefinition, create_service_app
from ikmkit.store import Store
from ikmkit.store.resolve import store_for
from services.notify.domain import rules
from services.notify.main import definition as notify_definition
from services.notify.settings import NotifySettings
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from services.subsidy.main import definition as subsidy_definition
from services.subsidy.settings import SubsidySettings
from services.training.main import definition as training_definition
from services.training.settings import TrainingSettings
from tests.support.kafka import eventually
from tests.support.service import RunningService, auth_headers, running_services

REPLICATED: frozenset[type[Event]] = frozenset(
    {
        EnterpriseRegistered, EnterpriseUpdated, EnterpriseVerified,
        EnterpriseClassChanged, EnterpriseSuspended, EnterpriseReinstated,
    }
)  # fmt: skip


def enterprise_body(nib: str, n: int) -> dict[str, object]:
    return {
        "nib": nib,
        "name": f"CV Audit {n}",
        "province": "34",
        "regency": "3471",
        "kbli": "29300",
        "workforce": 10,
        "investment_rupiah": 500_000_000,
        "owner_name": "Budi",
        "owner_email": "budi@example.id",
    }


async def caught_up(
    kafka: str, store: Store, group: str, topics: list[str], handled: Collection[type[Event]]
) -> bool:
    """Has the consumer group processed every event of the ``handled`` types on the log?"""
    result = await replay(kafka, topics, collect=True)
    ids = [c.headers["ce_id"] for c in result.events if c.model in handled]
    async with store.transaction() as uow:
        return not await inbox.unprocessed(uow, group, ids)


async def _relayed(store: Store) -> bool:
    return (await outbox_backlog(store)).pending == 0


def _store(name: str, data_dir: Path) -> Store:
    return store_for(name, mongodb_url=None, data_dir=data_dir)


def service_definitions(kafka: str, data_dir: Path) -> list[ServiceDefinition]:
    """registry, subsidy, training and notify on ``kafka`` with their stores in ``data_dir``."""
    return [
        registry_definition(
            RegistrySettings(kafka_bootstrap_servers=kafka), store=_store("registry", data_dir)
        ),
        subsidy_definition(
            SubsidySettings(kafka_bootstrap_servers=kafka), store=_store("subsidy", data_dir)
        ),
        training_definition(
            TrainingSettings(kafka_bootstrap_servers=kafka), store=_store("training", data_dir)
        ),
        notify_definition(
            NotifySettings(kafka_bootstrap_servers=kafka), store=_store("notify", data_dir)
        ),
    ]


@asynccontextmanager
async def four_services(kafka: str, data_dir: Path) -> AsyncIterator[dict[str, RunningService]]:
    """The four services running in-process (ASGI clients, no sockets)."""
    definitions = service_definitions(kafka, data_dir)
    async with running_services(*definitions) as running:
        yield {d.name: s for d, s in zip(definitions, running, strict=True)}


@contextmanager
def http_services(kafka: str, data_dir: Path) -> Iterator[dict[str, str]]:
    """The four services as real HTTP servers (uvicorn, a thread each); yields name -> URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []
    urls: dict[str, str] = {}
    try:
        for definition in service_definitions(kafka, data_dir):
            port = free_port()
            config = uvicorn.Config(
                create_service_app(definition), host="127.0.0.1", port=port, log_level="warning"
            )
            server = uvicorn.Server(config)
            thread = threading.Thread(target=server.run, name=definition.name, daemon=True)
            thread.start()
            servers.append((server, thread))
            urls[definition.name] = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not all(server.started for server, _ in servers):
            if time.monotonic() > deadline or not all(t.is_alive() for _, t in servers):
                raise RuntimeError("services did not start")
            time.sleep(0.05)
        yield urls
    finally:
        for server, _ in servers:
            server.should_exit = True
        for _, thread in servers:
            thread.join(30)


def copy_stores(data_dir: Path, target: Path) -> Path:
    """A copy of the (stopped) services' SQLite stores, to alter without touching the original."""
    target.mkdir(parents=True, exist_ok=True)
    for path in data_dir.glob("*.db*"):
        shutil.copy2(path, target / path.name)
    return target


async def register(registry: RunningService, nibs: list[str]) -> None:
    for n, nib in enumerate(nibs):
        response = await registry.client.post(
            "/enterprises", json=enterprise_body(nib, n), headers=auth_headers("ministry")
        )
        assert response.status_code == 201, response.text


async def wait_consumed(kafka: str, services: dict[str, RunningService]) -> None:
    """Until every outbox is relayed and notify, subsidy and training handled the log."""
    for service in services.values():
        store = service.runtime.store
        await eventually(lambda s=store: _relayed(s), 30)
    handled = (
        ("notify", set(rules.consumed_events())),
        ("subsidy", REPLICATED),
        ("training", REPLICATED),
    )
    for name, events in handled:
        service = services[name]
        consumer = service.runtime.consumers[0]
        await eventually(
            lambda c=consumer, s=service, h=events: caught_up(
                kafka, s.runtime.store, c.group, c.topics, h
            ),
            60,
        )
