"""The four services on one broker, writing the stores ``ikm`` commands open (for audit tests).

Each service runs in-process on its real runtime (relay, consumers, HTTP API) with the
SQLite file ``store_for`` resolves for it under ``data_dir``, so a command run later with
``IKM_DATA_DIR=data_dir`` opens exactly the store the service wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from contracts.base import Event
from contracts.registry import (
    EnterpriseClassChanged,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
)
from ikmkit import inbox
from ikmkit.audit.replay import replay
from ikmkit.infra import store_for
from ikmkit.outbox import outbox_backlog
from ikmkit.store import Store
from services.notify import rules
from services.notify.main import definition as notify_definition
from services.notify.settings import NotifySettings
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from services.subsidy.main import definition as subsidy_definition
from services.subsidy.settings import SubsidySettings
from services.training.main import definition as training_definition
from services.training.settings import TrainingSettings
from tests.support.kafka import eventually
from tests.support.service import RunningService, auth_headers, running_service

REPLICATED: frozenset[type[Event]] = frozenset(
    {
        EnterpriseRegistered, EnterpriseUpdated, EnterpriseVerified,
        EnterpriseClassChanged, EnterpriseSuspended, EnterpriseReinstated,
    }
)  # fmt: skip


def random_nib() -> str:
    return str(uuid.uuid4().int)[:13].rjust(13, "1")


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


@asynccontextmanager
async def four_services(kafka: str, data_dir: Path) -> AsyncIterator[dict[str, RunningService]]:
    """registry, subsidy, training and notify running on ``kafka`` with stores in ``data_dir``."""
    definitions = [
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
    async with AsyncExitStack() as stack:
        running = {d.name: await stack.enter_async_context(running_service(d)) for d in definitions}
        yield running


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
