"""A signed ``ce_hash`` covers *this* event: checkable from the event alone.

The outbox writes each event's predecessor hash (``ce_prevhash``) and signs ``ce_prevhash`` +
``ce_hash``; a reader recomputes ``ce_hash`` from the event's data, attributes and
``ce_prevhash`` (``contracts.chain.bound_hash_holds``; the consumer's fast path
``cloudevents.hash_is_bound`` inside ``Authenticity``). A genuine signature copied onto
other data, another id or sequence, or a made-up ``ce_prevhash`` fails the recomputation; a
copy stripped of ``ce_prevhash`` fails the signature. Events signed before ``ce_prevhash``
are accepted on their signature, unless their owner is configured strict."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from contracts import envelope as ce
from contracts.chain import bound_hash_holds, link_holds, signed_message
from contracts.codec import decode
from contracts.registry import EnterpriseRegistered, EnterpriseVerified, OwnerContact
from ikmkit.messaging.authenticity import Authenticity, Verdict
from ikmkit.messaging.cloudevents import event_payload, hash_is_bound, to_headers
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox
from ikmkit.messaging.signing import generate_keypair, signer_from_key, verify_signature
from ikmkit.store.sqlite import SqliteStore
from tests.support.enterprises import registration
from tests.support.records import legacy_signed_attributes

KEY, PUBLIC = generate_keypair()
NIB = "8120000000001"
Headers = dict[str, str]


def registered(name: str = "CV Maju") -> EnterpriseRegistered:
    owner = OwnerContact(name="Budi", email="owner@example.id")
    return registration(NIB, name, owner=owner, at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
async def stream() -> AsyncIterator[list[tuple[Headers, bytes]]]:
    """An enterprise's first two events (registered, verified) as the registry's signing
    outbox writes them: (headers, payload)."""
    store = SqliteStore(":memory:")
    await store.open(list(OUTBOX_COLLECTIONS))
    try:
        outbox = Outbox("/ikm/registry", signer=signer_from_key(KEY))
        verified = EnterpriseVerified(
            nib=NIB, province="34", verified_by="officer-1", verified_at=datetime.now(UTC)
        )
        async with store.transaction() as tx:
            await outbox.add(tx, registered())
            await outbox.add(tx, verified)
        async with store.transaction() as tx:
            rows = (await tx.find(OUTBOX, order_by=[("sequence", 1)], limit=10)).items
    finally:
        await store.close()
    yield [(dict(row["headers"]), str(row["payload"]).encode()) for row in rows]


def _check(headers: Headers, payload: bytes, strict: tuple[str, ...] = ()) -> Verdict | None:
    envelope = decode([(k, v.encode()) for k, v in headers.items()], payload)
    return Authenticity({"registry": PUBLIC}, strict=strict).check(
        EnterpriseRegistered.TOPIC, envelope
    )


def _without(headers: Headers, name: str) -> Headers:
    return {k: v for k, v in headers.items() if k != name}


def test_the_outbox_writes_the_predecessors_hash_and_signs_it_with_the_hash(
    stream: list[tuple[Headers, bytes]],
) -> None:
    (first, _), (second, _) = stream
    assert first[ce.H_PREVHASH] == ce.GENESIS_HASH
    assert second[ce.H_PREVHASH] == first[ce.H_HASH]
    for headers, _ in stream:
        message = signed_message(headers[ce.H_HASH], headers[ce.H_PREVHASH]).decode()
        assert message == headers[ce.H_PREVHASH] + headers[ce.H_HASH]
        assert verify_signature(PUBLIC, message, headers[ce.H_SIGNATURE])
        # not a signature of the hash alone: it cannot pass for an event signed before
        assert not verify_signature(PUBLIC, headers[ce.H_HASH], headers[ce.H_SIGNATURE])


def test_the_hash_is_recomputed_from_the_event_alone(
    stream: list[tuple[Headers, bytes]],
) -> None:
    (first, first_payload), (second, payload) = stream
    assert bound_hash_holds(first, first_payload) is True
    assert bound_hash_holds(second, payload) is True
    # the chain is unchanged: the same hash after the predecessor's, as the audit checks it
    assert link_holds(first[ce.H_HASH], second, payload)


def test_tampered_data_prevhash_sequence_or_id_do_not_hold(
    stream: list[tuple[Headers, bytes]],
) -> None:
    (first, _), (second, payload) = stream
    other_data = payload.replace(b"officer-1", b"officer-X")
    assert other_data != payload
    assert bound_hash_holds(second, other_data) is False
    assert bound_hash_holds({**second, ce.H_PREVHASH: ce.GENESIS_HASH}, payload) is False
    assert bound_hash_holds({**second, ce.H_PREVHASH: "f" * 64}, payload) is False
    assert bound_hash_holds({**second, ce.H_SEQUENCE: "0000000000000003"}, payload) is False
    assert bound_hash_holds({**second, ce.H_ID: first[ce.H_ID]}, payload) is False
    assert bound_hash_holds(_without(second, ce.H_PREVHASH), payload) is None


def test_the_consumers_fast_path_agrees(stream: list[tuple[Headers, bytes]]) -> None:
    (_, _), (second, payload) = stream
    cases = [
        (second, payload, True),
        (second, payload.replace(b"officer-1", b"officer-X"), False),
        ({**second, ce.H_PREVHASH: ce.GENESIS_HASH}, payload, False),
        ({**second, ce.H_SEQUENCE: "0000000000000003"}, payload, False),
        ({**second, ce.H_TIME: "2020-01-01T00:00:00+00:00"}, payload, False),
        ({**second, ce.H_HASHCANON: "other"}, payload, False),
        (_without(second, ce.H_PREVHASH), payload, False),
    ]
    for headers, body, holds in cases:
        envelope = decode([(k, v.encode()) for k, v in headers.items()], body)
        assert hash_is_bound(envelope.attrs, envelope.payload) is holds, headers
        if ce.H_PREVHASH in headers and headers[ce.H_HASHCANON] == "rfc8785":
            assert bound_hash_holds(headers, body) is holds


def test_a_genuine_event_is_authentic(stream: list[tuple[Headers, bytes]]) -> None:
    for headers, payload in stream:
        assert _check(headers, payload) is None


def test_a_copied_hash_and_signature_on_other_content_is_forged(
    stream: list[tuple[Headers, bytes]],
) -> None:
    """Every header of the genuine first event, on other data, another id or sequence, or
    with a made-up predecessor: read first or not, the event itself gives it away."""
    (genuine, _), _ = stream
    evil = event_payload(registered("Evil Co")).encode()
    right = event_payload(registered()).encode()
    for headers, payload in [
        (genuine, evil),
        ({**genuine, ce.H_ID: "2f1b6a40-0000-4000-8000-000000000001"}, right),
        ({**genuine, ce.H_SEQUENCE: "0000000000000002"}, right),
        ({**genuine, ce.H_PREVHASH: "f" * 64}, right),
    ]:
        verdict = _check(headers, payload)
        assert verdict is not None and verdict.reason == "forged"
        assert "does not match this event" in verdict.detail
        assert genuine[ce.H_HASH][:16] in verdict.detail


def test_a_copy_stripped_of_prevhash_does_not_verify(
    stream: list[tuple[Headers, bytes]],
) -> None:
    (genuine, _), _ = stream
    evil = event_payload(registered("Evil Co")).encode()
    verdict = _check(_without(genuine, ce.H_PREVHASH), evil)
    assert verdict is not None and verdict.reason == "forged"
    assert "does not verify" in verdict.detail


def test_an_event_signed_before_prevhash_is_accepted_unless_its_owner_is_strict() -> None:
    event = registered()
    attrs = legacy_signed_attributes(event, KEY)
    headers = {k: v.decode() for k, v in to_headers(attrs)}
    assert ce.H_PREVHASH not in headers
    payload = event_payload(event).encode()
    assert _check(headers, payload) is None
    assert _check(headers, payload, strict=("subsidy",)) is None
    verdict = _check(headers, payload, strict=("registry",))
    assert verdict is not None and verdict.reason == "forged"
    assert "ce_prevhash" in verdict.detail
