"""Chained and signed record streams of one aggregate, for the audit verifier's unit tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseVerified
from ikmkit.messaging.cloudevents import chain_hash, event_payload, to_headers
from tests.support.records import Record as FakeRecord


def stream(nib: str, count: int, *, signer=None, start: int = 0) -> list[FakeRecord]:
    """``count`` chained EnterpriseVerified events of one enterprise, as the outbox stamps them."""
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
            source="/ikm/registry",
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
                ENTERPRISE_TOPIC,
                0,
                start + n - 1,
                nib.encode(),
                payload.encode(),
                to_headers(attrs),
            )
        )
        previous = digest
    return records
