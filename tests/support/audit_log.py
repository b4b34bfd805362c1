"""A broker for the audit tests and events published onto it as the platform writes them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from contracts.registry import (
    ENTERPRISE_TOPIC,
    EnterpriseVerified,
)
from contracts.subsidy import APPLICATION_TOPIC
from ikmkit.messaging.kafka import KafkaPublisher
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox, OutgoingMessage
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.store.sqlite import SqliteStore


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


T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)


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


async def relay_events(kafka: str, tmp_path: Path, outbox: Outbox, events: Sequence) -> None:
    """``events`` added to ``outbox`` (its source and signer: a genuine producer's or an
    impostor's) in a scratch store and relayed onto the broker as the platform relays."""
    store = SqliteStore(tmp_path / f"{uuid.uuid4().hex}.db")
    await store.open(list(OUTBOX_COLLECTIONS))
    async with store.transaction() as uow:
        for n, event in enumerate(events):
            await outbox.add(uow, event, at=T0 + timedelta(minutes=n))
    await ensure_topics(kafka, sorted({type(e).TOPIC for e in events}))
    publisher = KafkaPublisher(kafka)
    await publisher.start()
    try:
        while await OutboxRelay(store, publisher).publish_pending():
            pass
    finally:
        await publisher.stop()
        await store.close()


async def publish_raw(kafka: str, records: Sequence) -> None:
    """Records (``tests.support.records.Record``) written onto the broker as they are."""
    await ensure_topics(kafka, sorted({r.topic for r in records}))
    publisher = KafkaPublisher(kafka)
    await publisher.start()
    try:
        await publisher.publish_batch(
            [OutgoingMessage(r.topic, r.key, r.value, list(r.headers)) for r in records]
        )
    finally:
        await publisher.stop()
