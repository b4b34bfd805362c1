"""The relay acts on each message's outcome (scripted publisher, SQLite store)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest

from ikmkit.messaging.outbox import (
    OUTBOX,
    OUTBOX_COLLECTIONS,
    Outbox,
    OutgoingMessage,
    PublishResult,
)
from ikmkit.messaging.relay import OutboxRelay
from ikmkit.store import Store
from ikmkit.store.sqlite import SqliteStore
from tests.support.enterprises import registration

Rule = Callable[[OutgoingMessage], PublishResult | None]


class ScriptedPublisher:
    """Publishes like a broker would, except where ``rule`` says otherwise."""

    def __init__(self) -> None:
        self.rule: Rule = lambda _: None
        self.log: list[OutgoingMessage] = []

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        results: list[PublishResult] = []
        failed: set[bytes] = set()
        for message in messages:
            outcome = self.rule(message) if message.key not in failed else PublishResult(error="x")
            if outcome is None:
                self.log.append(message)
                outcome = PublishResult(0, len(self.log) - 1, len(self.log) - 1)
            else:
                failed.add(message.key)
            results.append(outcome)
        return results


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    sqlite = SqliteStore(tmp_path / "outbox.db")
    await sqlite.open(OUTBOX_COLLECTIONS)
    yield sqlite
    await sqlite.close()


async def add(store: Store, nib: str, name: str) -> str:
    async with store.transaction() as uow:
        return (await Outbox("/tests").add(uow, registration(nib, name))).id


async def rows(store: Store) -> dict[str, dict[str, object]]:
    async with store.transaction() as uow:
        return {r["id"]: r for r in (await uow.find(OUTBOX, {}, limit=100)).items}


def names(messages: list[OutgoingMessage], nib: str) -> list[str]:
    return [json.loads(m.value)["name"] for m in messages if m.key == nib.encode()]


async def test_a_transient_failure_marks_nothing_and_keeps_the_streams_order(store: Store) -> None:
    publisher = ScriptedPublisher()
    first = [await add(store, "1111111111111", "f1"), await add(store, "2222222222222", "o1")]
    flaky = [await add(store, "1111111111111", "f2"), await add(store, "1111111111111", "f3")]
    broken = {flaky[0]}
    publisher.rule = lambda m: (
        PublishResult(error="KafkaTimeoutError") if _id(m) in broken else None
    )
    relay = OutboxRelay(store, publisher)
    assert await relay.publish_pending() == 2
    state = await rows(store)
    assert all(state[i]["sent"] for i in first)
    for i in flaky:  # neither sent, parked nor held: simply still pending
        assert (state[i]["sent"], state[i].get("parked"), state[i].get("held")) == (
            False,
            None,
            None,
        )
    assert names(publisher.log, "1111111111111") == ["f1"]  # f3 never overtook f2

    broken.clear()
    assert await relay.publish_pending() == 2
    assert names(publisher.log, "1111111111111") == ["f1", "f2", "f3"]
    assert names(publisher.log, "2222222222222") == ["o1"]  # published once, never again


async def test_parked_streams_survive_a_restart_of_the_relay(store: Store) -> None:
    publisher = ScriptedPublisher()
    publisher.rule = lambda m: (
        PublishResult(error="MessageSizeTooLargeError", permanent=True)
        if json.loads(m.value)["name"] == "big"
        else None
    )
    await add(store, "1111111111111", "big")
    first = OutboxRelay(store, publisher)
    await first.publish_pending()
    await first.stop()  # hands its lease over
    restarted = OutboxRelay(store, publisher)  # a new process: the parked set comes from the store
    later = await add(store, "1111111111111", "after")
    other = await add(store, "2222222222222", "other")
    assert await restarted.publish_pending() == 1
    state = await rows(store)
    assert state[later]["held"] is True and state[later]["sent"] is False
    assert state[other]["sent"] is True
    assert names(publisher.log, "1111111111111") == []


def _id(message: OutgoingMessage) -> str:
    return dict(message.headers)["ce_id"].decode()


class HeldPublisher(ScriptedPublisher):
    """Publishes once ``go`` is set, telling ``called`` when a batch arrives."""

    def __init__(self) -> None:
        super().__init__()
        self.called, self.go = asyncio.Event(), asyncio.Event()

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        self.called.set()
        await self.go.wait()
        return await super().publish_batch(messages)


async def test_a_stop_during_a_pass_records_what_the_pass_published(store: Store) -> None:
    """Stopped while its pass is publishing, the relay records the outcome before it ends:
    the events are not sent again at the next start (a duplicate on the log)."""
    ids = [await add(store, "1111111111111", "a"), await add(store, "2222222222222", "b")]
    publisher = HeldPublisher()
    relay = OutboxRelay(store, publisher, poll_interval=0.05)  # type: ignore[arg-type]
    relay.start()
    await asyncio.wait_for(publisher.called.wait(), 5)
    stopping = asyncio.create_task(relay.stop())
    await asyncio.sleep(0.05)
    publisher.go.set()
    await asyncio.wait_for(stopping, 10)
    assert len(publisher.log) == 2
    stored = await rows(store)
    assert all(stored[i]["sent"] for i in ids), stored

    again = ScriptedPublisher()
    second = OutboxRelay(store, again, poll_interval=0.05)  # type: ignore[arg-type]
    assert await second.publish_pending() == 0 and again.log == []


async def test_a_stop_with_nothing_in_flight_is_prompt(store: Store) -> None:
    relay = OutboxRelay(store, ScriptedPublisher(), poll_interval=10)  # type: ignore[arg-type]
    relay.start()
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    await relay.stop()
    assert time.perf_counter() - started < 1.0
