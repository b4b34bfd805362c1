"""A well-formed chain is verified on the replay's fast path, never record by record: the fast
path's own hash of a record must match the outbox's (a mismatch would only fall back to
``check``, slower and still right, so no finding would show it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from contracts import envelope as ce
from contracts.registry import EnterpriseVerified
from ikmkit.audit.chain import ChainVerifier
from ikmkit.audit.findings import Kind
from ikmkit.messaging.outbox import OUTBOX, OUTBOX_COLLECTIONS, Outbox, row_message
from ikmkit.messaging.signing import generate_keypair, signer_from_key, verify_signature
from ikmkit.store.sqlite import SqliteStore
from tests.support.audit_streams import stream
from tests.support.records import Record as FakeRecord


def test_a_clean_chain_never_falls_back_to_check() -> None:
    records = stream("1234567890123", 5) + stream("9876543210987", 3, start=5)
    verifier = ChainVerifier()
    fallbacks: list[Any] = []
    check = verifier.check
    verifier.check = lambda record: fallbacks.append(record) or check(record)  # type: ignore[method-assign]
    models = verifier.check_all(records)
    assert fallbacks == []
    assert len(models) == len(records) and all(m is not None for m in models)
    assert verifier.finish() == []


async def _relayed(streams: int, events: int, signer: Any = None) -> list[FakeRecord]:
    """``events`` events of each of ``streams`` enterprises as the registry's outbox stamps
    and its relay sends them (``ce_prevhash``, a signature if ``signer``, a traceparent)."""
    store = SqliteStore(":memory:")
    await store.open(list(OUTBOX_COLLECTIONS))
    outbox = Outbox("/ikm/registry", signer=signer)
    at = datetime(2026, 12, 1, tzinfo=UTC)
    try:
        async with store.transaction() as tx:
            for n in range(events):
                for s in range(streams):
                    nib = f"81200000000{s:02d}"
                    verified = EnterpriseVerified(
                        nib=nib, province="34", verified_by=f"officer-{n}", verified_at=at
                    )
                    await outbox.add(tx, verified, at=at + timedelta(minutes=n))
        async with store.transaction() as tx:
            rows = (await tx.find(OUTBOX, order_by=[("created_ns", 1)], limit=1000)).items
    finally:
        await store.close()
    messages = [row_message(row) for row in rows]
    return [
        FakeRecord(m.topic, 0, offset, m.key, m.value, m.headers)
        for offset, m in enumerate(messages)
    ]


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
async def test_events_with_prevhash_take_the_fast_path(signed: bool) -> None:
    private, _ = generate_keypair()
    records = await _relayed(3, 4, signer_from_key(private) if signed else None)
    assert all(ce.H_PREVHASH in dict(r.headers) for r in records)
    verifier = ChainVerifier()
    fallbacks: list[Any] = []
    check = verifier.check
    verifier.check = lambda record: fallbacks.append(record) or check(record)  # type: ignore[method-assign]
    assert all(m is not None for m in verifier.check_all(records))
    assert fallbacks == []
    assert verifier.finish() == []


async def test_the_audit_verifies_the_signature_over_prevhash_and_hash() -> None:
    private, public = generate_keypair()
    records = await _relayed(2, 3, signer_from_key(private))
    keys = {"/ikm/registry": public}

    def findings(chosen: list[FakeRecord]) -> list[tuple[Kind, int | None]]:
        verifier = ChainVerifier(public_keys=keys, verify_signature=verify_signature)
        verifier.check_all(chosen)
        return [(f.kind, f.sequence) for f in verifier.finish()]

    assert findings(records) == []
    last = records[-1]
    other_prev = [(k, b"f" * 64 if k == ce.H_PREVHASH else v) for k, v in last.headers]
    stripped = [(k, v) for k, v in last.headers if k != ce.H_PREVHASH]
    assert findings([*records[:-1], replace(last, headers=other_prev)]) == [(Kind.BAD_SIGNATURE, 3)]
    assert findings([*records[:-1], replace(last, headers=stripped)]) == [(Kind.BAD_SIGNATURE, 3)]
