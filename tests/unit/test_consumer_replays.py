"""Replays of genuine signed events, as someone with write access to a topic could make
them: a genuine signature copied onto other headers and content. With the owner's key
configured, a consumer refuses (dead letter ``forged``):

- an event whose ``ce_hash`` is not the hash of its own data and attributes after its
  ``ce_prevhash`` (events the outbox writes now): a copy onto other content or another id,
  read before the genuine event or after it;
- for events signed before ``ce_prevhash`` (whose hash a consumer cannot recompute), a signed
  hash it has already processed, under another ``ce_id`` (a second effect of one event, or
  the signature of one enterprise's event carried by another's content);
- an event on another topic than its type's, even one of the same owner.

A redelivery (same id, same hash) stays a duplicate with no second effect."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from contracts.envelope import EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, PARTNER_TOPIC, EnterpriseRegistered, OwnerContact
from ikmkit.messaging.authenticity import Authenticity
from ikmkit.messaging.cloudevents import event_payload, to_headers
from ikmkit.messaging.consumer import EventConsumer, RedeliveryPolicy
from ikmkit.messaging.outbox import OutgoingMessage
from ikmkit.messaging.signing import generate_keypair
from ikmkit.unit_of_work import UnitOfWork
from tests.support.enterprises import registration
from tests.support.records import Record, legacy_signed_attributes, signed_attributes
from tests.support.units import memory_units

KEY, PUBLIC = generate_keypair()


class Sink:
    def __init__(self) -> None:
        self.published: list[OutgoingMessage] = []

    async def publish(self, message: OutgoingMessage) -> None:
        self.published.append(message)

    def reasons(self) -> list[tuple[str, str, str]]:
        found = []
        for m in self.published:
            h = {k: v.decode() for k, v in m.headers}
            found.append((h["ce_id"], h["dlq_reason"], h["dlq_error"]))
        return found


@dataclass
class Harness:
    consumer: EventConsumer[UnitOfWork]
    sink: Sink
    effects: list[tuple[str, str, str]]
    offset: int = 0

    async def send(
        self,
        attrs: EnvelopeAttributes,
        event: Any,
        topic: str = ENTERPRISE_TOPIC,
        *,
        batch: int = 1,
    ) -> None:
        records = []
        for _ in range(batch):
            self.offset += 1
            payload = event_payload(event).encode()
            records.append(
                Record(topic, 0, self.offset, event.nib.encode(), payload, to_headers(attrs))
            )
        await self.consumer.process(records)


@pytest.fixture(params=[False, True], ids=["one_by_one", "batch_handler"])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    async with memory_units(UnitOfWork) as units:
        sink = Sink()
        consumer = EventConsumer(
            group="g",
            units=units,
            dead_letters=sink,
            authenticity=Authenticity({"registry": PUBLIC}),
            redelivery=RedeliveryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.001),
        )
        made = Harness(consumer, sink, [])

        async def on(event: Any, meta: EnvelopeAttributes, uow: UnitOfWork) -> None:
            made.effects.append((meta.id, event.nib, event.name))

        consumer.handles(EnterpriseRegistered)(on)
        if request.param:

            async def on_batch(
                items: list[tuple[Any, EnvelopeAttributes]], uow: UnitOfWork
            ) -> None:
                for event, meta in items:
                    await on(event, meta, uow)

            consumer.handles_batch(on_batch)
        yield made


def registered(nib: str, name: str = "CV Maju") -> EnterpriseRegistered:
    return registration(nib, name, owner=OwnerContact(name="Budi", email=f"owner{nib}@example.id"))


type Sign = Callable[[EnterpriseRegistered], EnvelopeAttributes]


@pytest.fixture(params=[legacy_signed_attributes, signed_attributes], ids=["legacy", "bound"])
def signed(request: pytest.FixtureRequest) -> Sign:
    """Events signed as before ``ce_prevhash`` (refused by the inbox of signed hashes) and
    as the relay signs them now (refused by the recomputed hash, before the inbox)."""
    sign = request.param

    def signed(event: EnterpriseRegistered) -> EnvelopeAttributes:
        attrs: EnvelopeAttributes = sign(event, KEY)
        return attrs

    return signed


NIB, OTHER = "1111111111111", "2222222222222"


async def test_a_redelivered_event_is_a_duplicate_not_a_forgery(
    harness: Harness, signed: Sign
) -> None:
    event = registered(NIB)
    attrs = signed(event)
    await harness.send(attrs, event)
    await harness.send(attrs, event, batch=3)
    assert harness.effects == [(attrs.id, NIB, "CV Maju")]
    assert harness.sink.published == []


async def test_a_signed_event_replayed_under_a_new_id_is_forged(
    harness: Harness, signed: Sign
) -> None:
    event = registered(NIB)
    attrs = signed(event)
    await harness.send(attrs, event)
    replay = attrs.model_copy(update={"id": str(uuid.uuid4())})
    await harness.send(replay, event)
    assert harness.effects == [(attrs.id, NIB, "CV Maju")]
    ((letter_id, reason, error),) = harness.sink.reasons()
    assert (letter_id, reason) == (replay.id, "forged")
    assert "ce_hash" in error and attrs.hash[:16] in error


async def test_a_signature_carried_by_other_content_is_forged(
    harness: Harness, signed: Sign
) -> None:
    event = registered(NIB)
    attrs = signed(event)
    await harness.send(attrs, event)
    evil = registered(OTHER, "Evil Co")
    copied = attrs.model_copy(update={"id": str(uuid.uuid4()), "subject": OTHER})
    await harness.send(copied, evil)
    assert harness.effects == [(attrs.id, NIB, "CV Maju")]
    assert [(i, r) for i, r, _ in harness.sink.reasons()] == [(copied.id, "forged")]


async def test_two_fresh_ids_sharing_a_signature_in_one_batch_have_one_effect(
    harness: Harness, signed: Sign
) -> None:
    event = registered(NIB)
    attrs = signed(event)
    copy = attrs.model_copy(update={"id": str(uuid.uuid4())})
    payload = event_payload(event).encode()
    await harness.consumer.process(
        [
            Record(ENTERPRISE_TOPIC, 0, 1, NIB.encode(), payload, to_headers(attrs)),
            Record(ENTERPRISE_TOPIC, 0, 2, NIB.encode(), payload, to_headers(copy)),
        ]
    )
    assert harness.effects == [(attrs.id, NIB, "CV Maju")]
    assert [(i, r) for i, r, _ in harness.sink.reasons()] == [(copy.id, "forged")]


async def test_an_event_on_another_topic_of_its_owner_is_forged(
    harness: Harness, signed: Sign
) -> None:
    harness.consumer.extra_topics = {PARTNER_TOPIC}
    event = registered(NIB)
    attrs = signed(event)
    await harness.send(attrs, event, topic=PARTNER_TOPIC)
    assert harness.effects == []
    ((_, reason, error),) = harness.sink.reasons()
    assert reason == "forged"
    assert ENTERPRISE_TOPIC in error and PARTNER_TOPIC in error


@pytest.mark.parametrize("together", [False, True], ids=["apart", "one_batch"])
async def test_a_copy_read_before_the_genuine_event_is_forged(
    harness: Harness, together: bool
) -> None:
    """The copies come first (other content, the genuine id on other content): each is
    refused from itself, and the genuine event after them is applied, not taken for a
    replay or a duplicate."""
    event = registered(NIB)
    attrs = signed_attributes(event, KEY)
    evil = registered(NIB, "Evil Co")
    copy = attrs.model_copy(update={"id": str(uuid.uuid4())})
    records = [
        Record(ENTERPRISE_TOPIC, 0, n, NIB.encode(), event_payload(e).encode(), to_headers(a))
        for n, (a, e) in enumerate([(copy, evil), (attrs, evil), (attrs, event)], start=1)
    ]
    if together:
        await harness.consumer.process(records)
    else:
        for record in records:
            await harness.consumer.process([record])
    assert harness.effects == [(attrs.id, NIB, "CV Maju")]
    letters = harness.sink.reasons()
    assert [(i, r) for i, r, _ in letters] == [(copy.id, "forged"), (attrs.id, "forged")]
    assert all("does not match this event" in error for _, _, error in letters)


async def test_events_signed_before_prevhash_are_counted(harness: Harness) -> None:
    from ikmkit.telemetry import metrics

    old, new = registered(NIB), registered(OTHER)
    counted = metrics.EVENTS_LEGACY_SIGNED.labels("g", old.ce_type())
    before = counted._value.get()
    await harness.send(legacy_signed_attributes(old, KEY), old)
    await harness.send(signed_attributes(new, KEY), new)
    assert counted._value.get() == before + 1
    assert len(harness.effects) == 2
