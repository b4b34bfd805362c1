"""ikm audit on a real broker: replay flags tampering and gaps, trail, rebuild-and-diff.

The audit tests write forged records to ``ikm.*`` topics, so they run on their own
embedded broker: a forged event must never reach another test's consumers.
"""

from __future__ import annotations

import asyncio
import csv
import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from typer.testing import CliRunner

from contracts.notify import DELIVERY_TOPIC, NotificationDelivered
from contracts.registry import (
    ENTERPRISE_TOPIC,
    EnterpriseRegistered,
    OwnerContact,
)
from contracts.subsidy import APPLICATION_TOPIC, SubsidyApplied
from ikm_cli.audit_trail import enterprise_trail
from ikm_cli.main import app
from ikmkit.audit.findings import Kind
from ikmkit.audit.replay import Selection, replay
from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.store.sqlite import SqliteStore
from tests.support.audit_log import T0, publish_events
from tests.support.values import random_nib


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
