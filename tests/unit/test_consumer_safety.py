"""Consumer-side rules without a broker: dead-letter fallback, authenticity, stall detection."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    TopicAuthorizationFailedError,
)

from contracts.catalog import MODULES_BY_SERVICE, TOPIC_OWNERS, all_topics, owner_of
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC
from contracts.subsidy import APPLICATION_TOPIC
from contracts.topics import source_of
from ikmkit.messaging.authenticity import Authenticity
from ikmkit.messaging.cloudevents import Envelope, chain_hash, event_payload
from ikmkit.messaging.deadletter import HEADER_LIMIT, PAYLOAD_PREFIX, DeadLetters, is_transient
from ikmkit.messaging.outbox import OutgoingMessage
from ikmkit.messaging.progress import ConsumerProgress, PartitionOffsets
from ikmkit.messaging.signing import generate_keypair, signer_from_key
from tests.support.enterprises import registration

# --- dead letters -------------------------------------------------------------------------------


@dataclass
class Rec:
    topic: str = ENTERPRISE_TOPIC
    partition: int = 2
    offset: int = 41
    key: bytes | None = b"1234567890123"
    value: bytes | None = b"{}"
    headers: list[tuple[str, bytes]] = field(default_factory=lambda: [("ce_id", b"e-1")])


class Sink:
    """Refuses messages over ``limit`` bytes as the producer does; or fails with ``error``."""

    def __init__(self, limit: int = 1_048_576, error: Exception | None = None) -> None:
        self.limit = limit
        self.error = error
        self.published: list[OutgoingMessage] = []

    async def publish(self, message: OutgoingMessage) -> None:
        if self.error is not None:
            raise self.error
        size = (
            len(message.value) + len(message.key) + sum(len(k) + len(v) for k, v in message.headers)
        )
        if size > self.limit:
            raise MessageSizeTooLargeError(f"{size} bytes")
        self.published.append(message)


def headers_of(message: OutgoingMessage) -> dict[str, bytes]:
    return dict(message.headers)


async def test_a_dead_letter_that_fits_is_the_whole_record() -> None:
    sink = Sink()
    await DeadLetters("g", sink).park(Rec(), "malformed_json", "bad", attempts=1)
    (letter,) = sink.published
    assert letter.topic == f"{ENTERPRISE_TOPIC}.dlq.g"
    assert letter.value == b"{}"
    assert "dlq_truncated" not in headers_of(letter)


async def test_an_oversized_dead_letter_is_published_truncated_with_size_and_digest() -> None:
    value = b"x" * 1_047_999
    huge_header = ("ce_subject", b"s" * 5000)
    sink = Sink()
    record = Rec(value=value, key=b"k" * 5000, headers=[("ce_id", b"e-1"), huge_header])
    await DeadLetters("g", sink).park(record, "contract_violation", "too big", attempts=1)
    (letter,) = sink.published
    found = headers_of(letter)
    assert found["dlq_truncated"] == b"true"
    assert found["dlq_original_size"] == b"1047999"
    assert found["dlq_original_sha256"] == hashlib.sha256(value).hexdigest().encode()
    assert b"MessageSizeTooLargeError" in found["dlq_truncated_because"]
    assert found["dlq_reason"] == b"contract_violation"
    assert found["dlq_original_offset"] == b"41"
    assert found["ce_id"] == b"e-1"
    assert found["ce_subject"] == b"s" * HEADER_LIMIT
    assert found["dlq_truncated_headers"] == b"ce_subject"
    assert letter.value == value[:PAYLOAD_PREFIX]
    assert letter.key == b"k" * HEADER_LIMIT


async def test_a_flood_of_headers_is_bounded_in_the_truncated_copy() -> None:
    sink = Sink(limit=200_000)
    headers = [(f"h{i}", b"v" * 1000) for i in range(1000)]  # ~1 MB of headers
    await DeadLetters("g", sink).park(Rec(headers=headers), "forged", "x", attempts=1)
    (letter,) = sink.published
    assert sum(len(k) + len(v) for k, v in letter.headers) < 64 * 1024
    assert b"(dropped)" in headers_of(letter)["dlq_truncated_headers"]


class RefusesContent(Sink):
    """A broker that refuses any record with a value (say, a corrupt-record check)."""

    async def publish(self, message: OutgoingMessage) -> None:
        if message.value:
            raise MessageSizeTooLargeError("refused")
        self.published.append(message)


async def test_when_even_the_prefix_is_refused_the_facts_alone_are_dead_lettered() -> None:
    sink = RefusesContent()
    await DeadLetters("g", sink).park(Rec(value=b"abc"), "malformed_json", "x", attempts=1)
    (letter,) = sink.published
    found = headers_of(letter)
    assert (letter.key, letter.value) == (b"", b"")
    assert "ce_id" not in found
    assert found["dlq_reason"] == b"malformed_json"
    assert found["dlq_original_size"] == b"3"
    assert found["dlq_original_sha256"] == hashlib.sha256(b"abc").hexdigest().encode()
    assert found["dlq_original_offset"] == b"41"


@pytest.mark.parametrize(
    "error",
    [KafkaConnectionError(), KafkaTimeoutError(), NotLeaderForPartitionError(), OSError()],
    ids=lambda e: type(e).__name__,
)
async def test_transient_publish_errors_escape_so_the_record_is_redelivered(
    error: Exception,
) -> None:
    assert is_transient(error)
    with pytest.raises(type(error)):
        await DeadLetters("g", Sink(error=error)).park(Rec(), "forged", "x", attempts=1)


async def test_a_permanent_refusal_of_both_copies_escapes_rather_than_skip_silently() -> None:
    error = TopicAuthorizationFailedError()
    assert not is_transient(error)
    with pytest.raises(TopicAuthorizationFailedError):
        await DeadLetters("g", Sink(error=error)).park(Rec(), "forged", "x", attempts=1)


# --- authenticity -------------------------------------------------------------------------------


def envelope(source: str = "/ikm/registry", signing_key: str | None = None) -> Envelope:
    event = registration("1234567890123", "CV Uji", at=datetime(2026, 1, 1, tzinfo=UTC))
    payload = event_payload(event)
    attrs = EnvelopeAttributes(
        id="e-1",
        type=event.ce_type(),
        source=source,
        time=datetime(2026, 1, 1, tzinfo=UTC),
        subject=event.nib,
        sequence=1,
        hash="",
    )
    digest = chain_hash(GENESIS_HASH, attrs, payload)
    signature = signer_from_key(signing_key)(digest) if signing_key else None
    return Envelope(
        attrs.model_copy(update={"hash": digest, "signature": signature}), event, payload
    )


PRIVATE, PUBLIC = generate_keypair()
OTHER, _ = generate_keypair()


def test_the_owner_speaks_unsigned_when_no_key_is_configured() -> None:
    assert Authenticity().check(ENTERPRISE_TOPIC, envelope()) is None


def test_another_source_is_forged() -> None:
    verdict = Authenticity().check(ENTERPRISE_TOPIC, envelope(source="/evil/forger"))
    assert verdict is not None and verdict.reason == "forged"
    assert "/evil/forger" in verdict.detail and "/ikm/registry" in verdict.detail
    assert Authenticity().check(ENTERPRISE_TOPIC, envelope(source="/ikm/subsidy")) is not None


def test_an_event_on_another_services_topic_is_forged() -> None:
    verdict = Authenticity().check(APPLICATION_TOPIC, envelope())
    assert verdict is not None and APPLICATION_TOPIC in verdict.detail


def test_with_the_owners_key_only_its_signature_passes() -> None:
    keyed = Authenticity({"registry": PUBLIC})
    assert keyed.check(ENTERPRISE_TOPIC, envelope(signing_key=PRIVATE)) is None
    unsigned = keyed.check(ENTERPRISE_TOPIC, envelope())
    wrong = keyed.check(ENTERPRISE_TOPIC, envelope(signing_key=OTHER))
    assert unsigned is not None and "no ce_signature" in unsigned.detail
    assert wrong is not None and "does not verify" in wrong.detail
    garbage = envelope(signing_key=PRIVATE)
    garbage = Envelope(garbage.attrs.model_copy(update={"signature": "!!"}), garbage.event, "")
    assert keyed.check(ENTERPRISE_TOPIC, garbage) is not None


def test_a_malformed_configured_key_fails_at_startup_naming_the_service() -> None:
    with pytest.raises(ValueError, match="'registry'"):
        Authenticity({"registry": "bm90IGEga2V5"})


def test_every_topic_has_one_owner_named_in_its_name() -> None:
    assert set(TOPIC_OWNERS) == set(all_topics())
    for topic, service in TOPIC_OWNERS.items():
        assert service in MODULES_BY_SERVICE
        assert topic.startswith(f"ikm.{service}.")
    assert owner_of("ikm.nobody.thing.v1") is None
    assert source_of("registry") == "/ikm/registry"


# --- stalls -------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_partition_stalls_when_pending_and_its_offset_stays_put() -> None:
    clock = Clock()
    progress = ConsumerProgress(stall_seconds=10, clock=clock)
    tp = ("t", 0)
    progress.observe("g", {tp: PartitionOffsets(position=5, end=8)})
    clock.now = 9
    progress.observe("g", {tp: PartitionOffsets(position=5, end=9)})  # more arrive, none done
    assert progress.stalled() == []
    clock.now = 10
    (stall,) = progress.stalled()
    assert (stall.group, stall.topic, stall.partition, stall.lag) == ("g", "t", 0, 4)
    assert "g t[0]: 4 pending at offset 5" in stall.describe()
    progress.observe("g", {tp: PartitionOffsets(position=6, end=9)})  # progress resets the clock
    assert progress.stalled() == []
    clock.now = 30
    progress.observe("g", {tp: PartitionOffsets(position=9, end=9)})  # caught up: never stalled
    assert progress.stalled() == []


def test_only_this_replicas_partitions_are_judged() -> None:
    clock = Clock()
    progress = ConsumerProgress(stall_seconds=1, clock=clock)
    offsets = {("t", 0): PartitionOffsets(0, 3), ("t", 1): PartitionOffsets(0, 3)}
    progress.observe("g", offsets, assigned={("t", 1)})
    clock.now = 5
    assert [(s.topic, s.partition) for s in progress.stalled()] == [("t", 1)]
