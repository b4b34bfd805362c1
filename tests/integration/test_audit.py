"""ikm audit on a real broker: replay flags tampering and gaps, trail, rebuild-and-diff.

The audit tests write forged records to ``ikm.*`` topics, so they run on their own
embedded broker: a forged event must never reach another test's consumers.
"""

from __future__ import annotations

import asyncio
import csv
import json
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from typer.testing import CliRunner

from contracts.notify import DELIVERY_TOPIC, NotificationDelivered
from contracts.registry import (
    ENTERPRISE_TOPIC,
    EnterpriseClassChanged,
    EnterpriseRegistered,
    EnterpriseReinstated,
    EnterpriseSuspended,
    EnterpriseUpdated,
    EnterpriseVerified,
    OwnerContact,
)
from contracts.subsidy import APPLICATION_TOPIC, SubsidyApplied
from ikm_cli.audit_rebuild import rebuild
from ikm_cli.audit_trail import enterprise_trail
from ikm_cli.main import app
from ikmdev.infra import EmbeddedKafka
from ikmkit.audit.findings import Kind
from ikmkit.audit.replay import Selection, replay
from ikmkit.messaging import inbox
from ikmkit.messaging.kafka import KafkaPublisher, ensure_topics
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox, OutgoingMessage
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.store import Store
from ikmkit.store.sqlite import SqliteStore
from services.notify.domain import rules
from services.notify.main import definition as notify_definition
from services.notify.settings import NotifySettings
from services.notify.store import NOTIFICATIONS
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from services.subsidy.main import definition as subsidy_definition
from services.subsidy.settings import SubsidySettings
from services.training.main import definition as training_definition
from services.training.settings import TrainingSettings
from tests.support.kafka import eventually
from tests.support.service import auth_headers, running_service

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
REPLICATED = {
    EnterpriseRegistered, EnterpriseUpdated, EnterpriseVerified,
    EnterpriseClassChanged, EnterpriseSuspended, EnterpriseReinstated,
}  # fmt: skip


def random_nib() -> str:
    return str(uuid.uuid4().int)[:13].rjust(13, "1")


@pytest.fixture(scope="module")
def audit_kafka() -> Iterator[str]:
    broker = EmbeddedKafka().start()
    yield broker.bootstrap_servers
    broker.stop()


class ForgingPublisher:
    """Publishes the outbox like production, except it corrupts or drops chosen events."""

    def __init__(self, inner: KafkaPublisher, *, tamper: set[str], drop: set[str]) -> None:
        self.inner, self.tamper, self.drop = inner, tamper, drop

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        sent = []
        for message in messages:
            event_id = dict(message.headers)["ce_id"].decode()
            if event_id in self.drop:
                continue
            if event_id in self.tamper:  # one byte of the payload changed on the wire
                value = message.value.replace(b"officer-2", b"officer-3")
                assert value != message.value
                sent.append(OutgoingMessage(message.topic, message.key, value, message.headers))
            else:
                sent.append(message)
        await self.inner.publish_batch(sent)


async def publish_events(
    kafka: str, tmp_path: Path, streams: dict[str, int], *, tamper=(), drop=(), first=()
) -> dict[tuple[str, int], str]:
    """``streams``: NIB -> number of EnterpriseVerified events; ``tamper``/``drop``: (NIB, seq).

    ``first``: enterprise events to publish before them, in the same outbox (same chains).
    """
    store = SqliteStore(tmp_path / f"{uuid.uuid4().hex}.db")
    await store.open(list(OUTBOX_COLLECTIONS))
    outbox = Outbox("/ikm/registry")
    ids: dict[tuple[str, int], str] = {}
    async with store.transaction() as uow:
        for event in first:
            await outbox.add(uow, event, at=T0)
        for nib, count in streams.items():
            for n in range(1, count + 1):
                event = EnterpriseVerified(
                    nib=nib, province="34", verified_by=f"officer-{n}", verified_at=T0
                )
                attrs = await outbox.add(uow, event, at=T0 + timedelta(hours=n))
                ids[(nib, n)] = attrs.id
    await ensure_topics(kafka, [ENTERPRISE_TOPIC, APPLICATION_TOPIC])
    inner = KafkaPublisher(kafka)
    await inner.start()
    publisher = ForgingPublisher(
        inner, tamper={ids[k] for k in tamper}, drop={ids[k] for k in drop}
    )
    try:
        while await OutboxRelay(store, publisher).publish_pending():
            pass
    finally:
        await inner.stop()
        await store.close()
    return ids


async def test_replay_flags_a_tampered_payload_and_a_missing_sequence_number(
    audit_kafka: str, tmp_path: Path
) -> None:
    intact, tampered, gapped = random_nib(), random_nib(), random_nib()
    ids = await publish_events(
        audit_kafka,
        tmp_path,
        {intact: 4, tampered: 4, gapped: 5},
        tamper=[(tampered, 2)],
        drop=[(gapped, 3)],
    )
    result = await replay(audit_kafka, [ENTERPRISE_TOPIC])
    mine = [f for f in result.findings if f.subject in (intact, tampered, gapped)]
    assert sorted((f.kind, f.subject, f.sequence) for f in mine) == sorted(
        [(Kind.TAMPERED, tampered, 2), (Kind.GAP, gapped, 3)]
    )
    parallel = await replay(audit_kafka, [ENTERPRISE_TOPIC], workers=3)
    assert (parallel.read, parallel.streams) == (result.read, result.streams)
    assert sorted(map(str, parallel.findings)) == sorted(map(str, result.findings))
    tamper_finding = next(f for f in mine if f.kind == Kind.TAMPERED)
    assert tamper_finding.event_id == ids[(tampered, 2)]
    assert result.by_type["EnterpriseVerified"] >= 12

    # filters only narrow what is reported: the chain is still checked from sequence 1
    late = await replay(
        audit_kafka,
        [ENTERPRISE_TOPIC],
        Selection(aggregate=tampered, since=T0 + timedelta(hours=2)),
    )
    assert late.selected == 3
    assert [(f.kind, f.sequence) for f in late.findings] == [(Kind.TAMPERED, 2)]
    clean = await replay(audit_kafka, [ENTERPRISE_TOPIC], Selection(aggregate=intact))
    assert (clean.selected, clean.findings) == (4, [])


def test_replay_command_writes_reports_and_fails_on_tampering(
    audit_kafka: str, tmp_path: Path
) -> None:
    tampered = random_nib()
    asyncio.run(publish_events(audit_kafka, tmp_path, {tampered: 3}, tamper=[(tampered, 2)]))
    report, findings_csv = tmp_path / "report.json", tmp_path / "findings.csv"
    result = CliRunner().invoke(
        app,
        [
            "audit",
            "replay",
            "--log-only",  # its events come from a scratch outbox, no service's
            "--kafka",
            audit_kafka,
            "--topic",
            ENTERPRISE_TOPIC,
            "--aggregate",
            tampered,
            "--report",
            str(report),
            "--csv",
            str(findings_csv),
            "--events",
        ],
    )
    assert result.exit_code == 1, result.output
    document = json.loads(report.read_text())
    assert document["totals"]["selected"] == 3
    assert document["findings_by_kind"] == {"tampered": 1}
    assert [e["sequence"] for e in document["events"]] == [1, 2, 3]
    rows = list(csv.DictReader(findings_csv.open()))
    assert [(r["kind"], r["subject"], r["sequence"]) for r in rows] == [("tampered", tampered, "2")]

    intact = random_nib()
    asyncio.run(publish_events(audit_kafka, tmp_path, {intact: 2}))
    ok = CliRunner().invoke(
        app,
        [
            "audit",
            "replay",
            "--log-only",
            "--kafka",
            audit_kafka,
            "--aggregate",
            intact,
            "--report",
            str(tmp_path / "ok.json"),
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads((tmp_path / "ok.json").read_text())["totals"]["selected"] == 2


async def test_trail_tells_one_enterprises_story_across_topics_with_trace_ids(
    audit_kafka: str, tmp_path: Path
) -> None:
    nib, other = random_nib(), random_nib()
    trace_id = uuid.uuid4().int & ((1 << 128) - 1)
    span = NonRecordingSpan(
        SpanContext(trace_id, 0xABCDEF, is_remote=False, trace_flags=TraceFlags(1))
    )
    applied = SubsidyApplied(
        application_id=f"app-{uuid.uuid4().hex[:8]}", program_id="prg-1",
        program_kind="machine_restructuring", program_name="Restrukturisasi Mesin 2026",
        fiscal_year=2026, nib=nib, enterprise_name="CV Maju", province="34", regency="3471",
        directorate="metal_machinery_electronics_transport", kbli="29300", line_count=1,
        eligible_cost_rupiah=100_000_000, requested_rebate_rupiah=30_000_000,
        applied_by="owner", applied_at=T0,
    )  # fmt: skip
    with trace.use_span(span):
        applied_id = await publish_one(
            audit_kafka, tmp_path, "subsidy", applied, T0 + timedelta(hours=10)
        )
    regional_notice = NotificationDelivered(
        notification_id="n-1", source_event_id=applied_id, source_event_type=applied.ce_type(),
        recipient="regional:34", channel="email", attempts=1, delivered_at=T0,
    )  # fmt: skip
    await publish_one(audit_kafka, tmp_path, "notify", regional_notice, T0 + timedelta(hours=11))
    registered = EnterpriseRegistered(
        nib=nib, province="34", name="CV Maju", regency="3471", kbli="29300",
        directorate="metal_machinery_electronics_transport", size_class="small",
        owner=OwnerContact(name="Budi Santoso", email="budi@example.id"), registered_at=T0,
    )  # fmt: skip
    await publish_events(audit_kafka, tmp_path, {nib: 2, other: 1}, first=[registered])

    trail = await enterprise_trail(audit_kafka, nib)
    assert [(c.model.__name__ if c.model else None) for c in trail.events] == [
        "EnterpriseRegistered",
        "EnterpriseVerified",
        "EnterpriseVerified",
        "SubsidyApplied",
        "NotificationDelivered",  # linked through source_event_id, sent to the region
    ]
    assert {c.record.topic for c in trail.events} == {
        ENTERPRISE_TOPIC, APPLICATION_TOPIC, DELIVERY_TOPIC,
    }  # fmt: skip
    assert trail.errors == []

    output = tmp_path / "trail.json"
    cli = await asyncio.to_thread(
        CliRunner().invoke,
        app,
        ["audit", "trail", nib, "--kafka", audit_kafka, "--output", str(output)],
    )
    assert cli.exit_code == 0, cli.output
    text = output.read_text()
    rows = json.loads(text)["events"]
    assert [r["type"] for r in rows] == [
        "EnterpriseRegistered",
        "EnterpriseVerified",
        "EnterpriseVerified",
        "SubsidyApplied",
        "NotificationDelivered",
    ]
    assert rows[3]["trace_id"] == format(trace_id, "032x")
    assert rows[3]["data"]["nib"] == nib
    # personal data is masked by the contract's marking; business data is not
    assert rows[0]["data"]["owner"]["name"] == "B*** S***"
    assert "Budi Santoso" not in text and "budi@example.id" not in text
    assert rows[0]["data"]["name"] == "CV Maju"


async def publish_one(kafka: str, tmp_path: Path, service: str, event, at: datetime) -> str:
    """Publish one event through a real outbox and relay; returns its id."""
    store = SqliteStore(tmp_path / f"{service}-{uuid.uuid4().hex[:6]}.db")
    await store.open(list(OUTBOX_COLLECTIONS))
    async with store.transaction() as uow:
        attrs = await Outbox(f"/ikm/{service}").add(uow, event, at=at)
    publisher = KafkaPublisher(kafka)
    await publisher.start()
    await ensure_topics(kafka, [event.TOPIC])
    try:
        await OutboxRelay(store, publisher).publish_pending()
    finally:
        await publisher.stop()
        await store.close()
    return attrs.id


# ------------------------------------------------------------------------------------ rebuild


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
    async with (
        running_service(registry) as reg,
        running_service(notify) as ntf,
        running_service(subsidy) as sub,
        running_service(training) as trn,
    ):
        for n, nib in enumerate(nibs):
            response = await reg.client.post(
                "/enterprises",
                json={
                    "nib": nib,
                    "name": f"CV Audit {n}",
                    "province": "34",
                    "regency": "3471",
                    "kbli": "29300",
                    "workforce": 10,
                    "investment_rupiah": 500_000_000,
                    "owner_name": "Budi",
                    "owner_email": "budi@example.id",
                },
                headers=auth_headers("ministry"),
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

    async with live.transaction() as uow:
        page = await uow.find(NOTIFICATIONS, {}, order_by=[("id", 1)], limit=2)
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
