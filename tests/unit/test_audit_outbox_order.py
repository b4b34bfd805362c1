"""The outbox publishes an aggregate's events in sequence order even if clocks disagree.

Several replicas of a service share one outbox; the relay publishes by ``created_ns``.
A replica whose clock is behind must not get its (later) event published first, or the
audit would see the stream reordered and replicas skipping "stale" sequence numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contracts.registry import EnterpriseVerified
from ikmkit.audit.chain import ChainVerifier
from ikmkit.messaging import outbox as outbox_module
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox, OutgoingMessage
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.store.sqlite import SqliteStore


class Collecting:
    def __init__(self) -> None:
        self.messages: list[OutgoingMessage] = []

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> None:
        self.messages += messages


class Record:
    def __init__(self, message: OutgoingMessage, offset: int) -> None:
        self.topic, self.partition, self.offset = message.topic, 0, offset
        self.key, self.value, self.headers = message.key, message.value, message.headers


async def test_a_replica_with_a_slow_clock_does_not_reorder_a_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / "outbox.db")
    await store.open(list(OUTBOX_COLLECTIONS))
    outbox = Outbox("/ikm/registry")
    clocks = iter([5_000_000, 1_000_000, 9_000_000])  # the second writer's clock is behind
    monkeypatch.setattr(outbox_module.time, "time_ns", lambda: next(clocks, 10_000_000))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    for n in (1, 2, 3):
        async with store.transaction() as uow:
            event = EnterpriseVerified(
                nib="1000000000099", province="34", verified_by=f"o-{n}", verified_at=at
            )
            await outbox.add(uow, event)
    monkeypatch.undo()
    sink = Collecting()
    await OutboxRelay(store, sink).publish_pending()
    await store.close()
    sequences = [int(dict(m.headers)["ce_sequence"]) for m in sink.messages]
    assert sequences == [1, 2, 3]
    verifier = ChainVerifier()
    verifier.check_all([Record(m, i) for i, m in enumerate(sink.messages)])
    assert verifier.finish() == []
