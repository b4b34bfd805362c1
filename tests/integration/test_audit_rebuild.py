"""ikm audit rebuild on a real broker: a service's event-fed state rebuilt from the log in a
scratch store matches the live one, and an edit of the live store is found.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from contracts.registry import (
    EnterpriseClassChanged,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
)
from ikm_cli.audit_rebuild import rebuild
from ikmdev.infra import EmbeddedKafka
from ikmkit.audit.replay import replay
from ikmkit.messaging import inbox
from ikmkit.store import Store
from ikmkit.store.sqlite import SqliteStore
from services.notify.domain import rules
from services.notify.domain.model import IN_APP
from services.notify.main import definition as notify_definition
from services.notify.settings import NotifySettings
from services.notify.store import NOTIFICATIONS
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from services.subsidy.main import definition as subsidy_definition
from services.subsidy.settings import SubsidySettings
from services.training.main import definition as training_definition
from services.training.settings import TrainingSettings
from tests.support.audit import enterprise_body
from tests.support.kafka import eventually
from tests.support.service import auth_headers, running_services
from tests.support.values import random_nib

REPLICATED = {
    EnterpriseRegistered, EnterpriseUpdated, EnterpriseVerified,
    EnterpriseClassChanged, EnterpriseSuspended, EnterpriseReinstated,
}  # fmt: skip


@pytest.fixture
def rebuild_kafka() -> Iterator[str]:
    """A broker per rebuild test: the rebuild replays the *whole* log of its topics."""
    broker = EmbeddedKafka().start()
    yield broker.bootstrap_servers
    broker.stop()


async def caught_up(kafka: str, store: Store, group: str, topics: list[str], handled) -> bool:
    """Has the consumer group processed every event of the ``handled`` types written so far?

    (Checked through its inbox: the embedded broker cannot answer OffsetFetch for admins.)
    """
    result = await replay(kafka, topics, collect=True)
    ids = [c.headers["ce_id"] for c in result.events if c.model in handled]
    async with store.transaction() as uow:
        return not await inbox.unprocessed(uow, group, ids)


@pytest.fixture
async def workload(rebuild_kafka: str, fresh_store: Store, tmp_path: Path) -> AsyncIterator[dict]:
    """Registry, subsidy and notify on their own broker; three enterprises registered."""
    registry = registry_definition(
        RegistrySettings(kafka_bootstrap_servers=rebuild_kafka),
        store=SqliteStore(tmp_path / "registry.db"),
    )
    notify = notify_definition(
        NotifySettings(kafka_bootstrap_servers=rebuild_kafka), store=fresh_store
    )
    subsidy = subsidy_definition(
        SubsidySettings(kafka_bootstrap_servers=rebuild_kafka),
        store=SqliteStore(tmp_path / "subsidy.db"),
    )
    training = training_definition(
        TrainingSettings(kafka_bootstrap_servers=rebuild_kafka),
        store=SqliteStore(tmp_path / "training.db"),
    )
    nibs = [random_nib() for _ in range(3)]
    async with running_services(registry, notify, subsidy, training) as (reg, ntf, sub, trn):
        for n, nib in enumerate(nibs):
            response = await reg.client.post(
                "/enterprises", json=enterprise_body(nib, n), headers=auth_headers("ministry")
            )
            assert response.status_code == 201, response.text
        consumed = ((ntf, set(rules.consumed_events())), (sub, REPLICATED), (trn, REPLICATED))
        for service, handled in consumed:
            consumer = service.runtime.consumers[0]
            await eventually(
                lambda c=consumer, s=service, h=handled: caught_up(
                    rebuild_kafka, s.runtime.store, c.group, c.topics, h
                ),
                60,
            )
        yield {
            "kafka": rebuild_kafka, "notify": ntf, "registry": reg, "subsidy": sub, "training": trn,
        }  # fmt: skip


async def test_rebuild_of_a_healthy_service_reports_no_differences_then_finds_an_edit(
    workload: dict, tmp_path: Path
) -> None:
    kafka, ntf = workload["kafka"], workload["notify"]
    definition = ntf.app.state.definition
    live: Store = ntf.runtime.store
    healthy = await rebuild("notify", kafka, live, definition=definition, workdir=tmp_path)
    assert healthy.events_replayed >= 3
    assert healthy.compared[NOTIFICATIONS][0] > 0
    assert healthy.compared[NOTIFICATIONS][0] == healthy.compared[NOTIFICATIONS][1]
    assert healthy.differences == [] and healthy.stream_differences == []
    assert healthy.clean

    # In-app messages only: the dispatcher rewrites an e-mail's whole document when it records
    # a send attempt, which undoes a hand edit made while that send was under way (with no SMTP
    # server listening, every retry is such an attempt).
    async with live.transaction() as uow:
        page = await uow.find(NOTIFICATIONS, {"channel": IN_APP}, order_by=[("id", 1)], limit=2)
        edited, deleted = page.items
        await uow.patch_many(NOTIFICATIONS, [edited["id"]], {"title": "edited by hand"})
        await uow.delete(NOTIFICATIONS, deleted["id"])
    after_edit = await rebuild("notify", kafka, live, definition=definition, workdir=tmp_path)
    assert sorted((d.kind, d.doc_id, d.fields) for d in after_edit.differences) == sorted(
        [("changed", edited["id"], ("title",)), ("extra", deleted["id"], ())]
    )
    assert not after_edit.clean

    # subsidy's and training's replicas of the registry's enterprises rebuild identically
    for service, collection in (("subsidy", "enterprises"), ("training", "enterprise_replica")):
        running = workload[service]
        replica = await rebuild(
            service, kafka, running.runtime.store, definition=running.app.state.definition
        )
        assert replica.compared[collection] == (3, 3), service
        assert replica.clean, (service, replica.differences)

    # the registry is a source: its outbox stream heads are checked against the log
    reg = workload["registry"]
    registry_report = await rebuild(
        "registry", kafka, reg.runtime.store, definition=reg.app.state.definition
    )
    assert registry_report.streams_checked >= 3
    assert registry_report.clean, registry_report.stream_differences
    assert "*" in registry_report.skipped
