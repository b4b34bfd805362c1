"""Replay's fast path validates a batch's payloads against their contract together; a
violation is still reported for its own record, exactly as one-by-one checking reports it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from contracts.chain import CANON_RFC8785
from contracts.envelope import GENESIS_HASH, EnvelopeAttributes
from contracts.registry import ENTERPRISE_TOPIC, EnterpriseVerified
from ikmkit.audit.chain import ChainVerifier
from ikmkit.audit.findings import Kind
from ikmkit.messaging.cloudevents import chain_hash, event_payload, to_headers
from tests.support.records import Record as FakeRecord


def _stream(nib: str, count: int, bad: set[int]) -> list[FakeRecord]:
    """RFC 8785 events, correctly chained; those in ``bad`` carry a canonical payload the
    contract refuses (a number where a name belongs), hashed as such by their producer."""
    records, previous = [], GENESIS_HASH
    at = datetime(2026, 3, 1, tzinfo=UTC)
    for n in range(1, count + 1):
        event = EnterpriseVerified(
            nib=nib, province="34", verified_by=f"officer-{n}", verified_at=at
        )
        payload = event_payload(event)
        if n in bad:
            payload = payload.replace(f'"verified_by":"officer-{n}"', '"verified_by":12345')
        attrs = EnvelopeAttributes(
            id=str(uuid.uuid4()), type=event.ce_type(), source="/ikm/registry",
            time=at + timedelta(minutes=n), subject=nib, region="34", sequence=n, hash="",
            hashcanon=CANON_RFC8785,
        )  # fmt: skip
        previous = chain_hash(previous, attrs, payload)
        headers = to_headers(attrs.model_copy(update={"hash": previous}))
        records.append(
            FakeRecord(ENTERPRISE_TOPIC, 0, n - 1, nib.encode(), payload.encode(), headers)
        )
    return records


def _found(verifier: ChainVerifier) -> list[tuple[Kind, int | None, int, str]]:
    return sorted((f.kind, f.sequence, f.offset, f.detail) for f in verifier.finish())


def test_a_violation_in_a_batch_is_reported_for_its_record_only() -> None:
    records = _stream("1000000000077", 6, bad={3, 5})
    one_by_one, batched = ChainVerifier(), ChainVerifier()
    for record in records:
        one_by_one.check(record)
    models = batched.check_all(records)
    found = _found(batched)
    assert found == _found(one_by_one)
    assert [(kind, sequence, offset) for kind, sequence, offset, _ in found] == [
        (Kind.CONTRACT_VIOLATION, 3, 2),
        (Kind.CONTRACT_VIOLATION, 5, 4),
    ]
    assert all("verified_by" in detail and "12345" not in detail for *_, detail in found)
    assert models == [EnterpriseVerified] * 6
    assert batched.heads() == one_by_one.heads()


def test_a_clean_batch_has_no_findings() -> None:
    verifier = ChainVerifier()
    assert verifier.check_all(_stream("1000000000078", 5, bad=set())) == [EnterpriseVerified] * 5
    assert verifier.finish() == []
