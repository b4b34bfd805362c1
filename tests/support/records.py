"""A Kafka record as the consumer and the audit read it, for feeding them without a broker."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from contracts.chain import CANON_RFC8785, signed_message
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import EnterpriseRegistered
from ikmkit.messaging.cloudevents import chain_hash, event_payload
from ikmkit.messaging.signing import signer_from_key


@dataclass(frozen=True)
class Record:
    """What ``ikmkit.messaging.deadletter.Record`` asks of aiokafka's ``ConsumerRecord``."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


class NoDeadLetters:
    """A dead-letter sink for runs where every record must be processed."""

    async def publish(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("no dead letter expected")


def signed_attributes(event: EnterpriseRegistered, key: str) -> EnvelopeAttributes:
    """The envelope the registry's relay gives ``event`` as the first of its stream, with
    ``ce_prevhash`` and its ``ce_prevhash`` + ``ce_hash`` signed with the private ``key``."""
    bound = {"prevhash": GENESIS_HASH, "hashcanon": CANON_RFC8785}
    attrs = _first_of_stream(event).model_copy(update=bound)
    digest = chain_hash(GENESIS_HASH, attrs, event_payload(event))
    signature = signer_from_key(key)(signed_message(digest, GENESIS_HASH).decode())
    return attrs.model_copy(update={"hash": digest, "signature": signature})


def legacy_signed_attributes(event: EnterpriseRegistered, key: str) -> EnvelopeAttributes:
    """The envelope the registry's relay gave ``event`` before ``ce_prevhash``: its
    ``ce_hash`` alone signed with the private ``key``."""
    attrs = _first_of_stream(event)
    digest = chain_hash(GENESIS_HASH, attrs, event_payload(event))
    return attrs.model_copy(update={"hash": digest, "signature": signer_from_key(key)(digest)})


def _first_of_stream(event: EnterpriseRegistered) -> EnvelopeAttributes:
    return EnvelopeAttributes(
        id=str(uuid.uuid4()),
        type=event.ce_type(),
        source="/ikm/registry",
        time=datetime.now(UTC),
        subject=event.nib,
        region=event.province,
        sequence=1,
        hash="",
    )
