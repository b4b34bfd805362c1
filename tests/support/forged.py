"""Registrations produced straight onto the registry topic (signed or not), as any writer could."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer

from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseRegistered, OwnerContact
from ikmkit.messaging.cloudevents import chain_hash, event_payload, to_headers
from ikmkit.messaging.signing import signer_from_key
from tests.support.enterprises import registration
from tests.support.values import random_nib


def enterprise(name: str) -> EnterpriseRegistered:
    nib = random_nib()
    owner = OwnerContact(name="Budi Santoso", email=f"owner-{nib}@example.id")
    return registration(nib, name, owner=owner)


async def send(
    producer: AIOKafkaProducer,
    event: EnterpriseRegistered,
    *,
    source: str = "/ikm/registry",
    signing_key: str | None = None,
    made_up_hash: bool = False,
) -> None:
    attrs = EnvelopeAttributes(
        id=str(uuid.uuid4()),
        type=event.ce_type(),
        source=source,
        time=datetime.now(UTC),
        subject=event.nib,
        region=event.province,
        sequence=1,
        hash="",
    )
    payload = event_payload(event)
    digest = "f" * 64 if made_up_hash else chain_hash(GENESIS_HASH, attrs, payload)
    signature = signer_from_key(signing_key)(digest) if signing_key else None
    attrs = attrs.model_copy(update={"hash": digest, "signature": signature})
    await producer.send_and_wait(
        ENTERPRISE_TOPIC, payload.encode(), key=event.nib.encode(), headers=to_headers(attrs)
    )
