"""Chained and signed record streams of one aggregate, for the audit verifier's unit tests."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from bench.audit import OutboxRows
from contracts import envelope as ce
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseVerified
from ikmkit.messaging.cloudevents import chain_hash, event_payload, to_headers
from ikmkit.messaging.outbox import Outbox, row_message
from tests.support.records import Record as FakeRecord


def stream(
    nib: str,
    count: int,
    *,
    signer=None,
    start: int = 0,
    source: str = "/ikm/registry",
    topic: str = ENTERPRISE_TOPIC,
) -> list[FakeRecord]:
    """``count`` chained EnterpriseVerified events of one enterprise, as the outbox stamps them
    (``source`` and ``topic``: where someone else than the registry writes them)."""
    records, previous = [], GENESIS_HASH
    at = datetime(2026, 3, 1, tzinfo=UTC)
    for n in range(1, count + 1):
        event = EnterpriseVerified(
            nib=nib, province="34", verified_by=f"officer-{n}", verified_at=at
        )
        payload = event_payload(event)
        attrs = EnvelopeAttributes(
            id=str(uuid.uuid4()),
            type=event.ce_type(),
            source=source,
            time=at + timedelta(minutes=n),
            subject=nib,
            region="34",
            sequence=n,
            hash="",
        )
        digest = chain_hash(previous, attrs, payload)
        attrs = attrs.model_copy(
            update={"hash": digest, "signature": signer(digest) if signer else None}
        )
        records.append(
            FakeRecord(
                topic,
                0,
                start + n - 1,
                nib.encode(),
                payload.encode(),
                to_headers(attrs),
            )
        )
        previous = digest
    return records


def outbox_stream(
    nibs: list[str], per: int, *, source: str = "/ikm/registry", topic: str = ENTERPRISE_TOPIC
) -> list[FakeRecord]:
    """``per`` EnterpriseVerified events of each enterprise through an outbox of ``source``
    and the relay's ``row_message`` onto ``topic``, untraced, as one partition's records
    (RFC 8785 payloads: what the replay's chunk path takes)."""
    rows, outbox = OutboxRows(), Outbox(source)
    at = datetime(2026, 3, 1, tzinfo=UTC)
    events = [
        EnterpriseVerified(nib=nib, province="34", verified_by=f"officer-{n}", verified_at=at)
        for n in range(per)
        for nib in nibs
    ]
    asyncio.run(outbox.add_many(rows, events))  # type: ignore[arg-type]
    messages = [row_message({**row, "topic": topic}) for row in rows.outbox]
    return [
        FakeRecord(topic, 0, n, m.key, m.value, [h for h in m.headers if h[0] != ce.H_TRACEPARENT])
        for n, m in enumerate(messages)
    ]
