"""The dispatcher against a real SMTP server (aiosmtpd) that fails some recipients: refused
for a while (451), refused always (550), the message refused once (DATA 451), the
connection dropped once; new work arrives while the retries are pending, and one write of
outcomes fails. Every notification reaches the server exactly once or goes dead after the
configured attempts; nothing else is sent twice. Real SQLite store (in memory), real clock."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from ikm_cli.devextras import SmtpSink, _Keeper
from ikmkit.unit_of_work import Units
from services.notify import handlers
from services.notify.bootstrap import bootstrap
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS, NotifyUnit
from tests.support.notify_dispatch import (
    notify,
    registered,
)
from tests.support.units import memory_units

ATTEMPTS = 3


@pytest.fixture
async def units() -> AsyncIterator[Units[NotifyUnit]]:
    async with memory_units(NotifyUnit, COLLECTIONS) as made:
        yield made  # the real clock: retries fall due by themselves


class Failing(_Keeper):
    """siti1: 451 twice; siti2: 550 always; siti3: DATA 451 once; siti4: the connection
    dropped at its first RCPT."""

    def __init__(self, sink: SmtpSink) -> None:
        super().__init__(sink)
        self.rcpts: Counter[str] = Counter()
        self.datas: Counter[str] = Counter()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        self.rcpts[address] += 1
        if address.startswith("siti1@") and self.rcpts[address] <= 2:
            return "451 4.3.0 try again later"
        if address.startswith("siti2@"):
            return "550 5.1.1 no such mailbox"
        if address.startswith("siti4@") and self.rcpts[address] == 1:
            server.transport.close()
            return "421 4.4.2 closing"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        address = envelope.rcpt_tos[0]
        self.datas[address] += 1
        if address.startswith("siti3@") and self.datas[address] == 1:
            return "451 4.3.0 queue full"
        return await super().handle_DATA(server, session, envelope)


class FailingSink(SmtpSink):
    def start(self) -> FailingSink:
        self.handler = Failing(self)
        self._controller = Controller(self.handler, hostname=self.host, port=self.port)
        self._controller.start()
        return self


async def _all_settled(units: Units[NotifyUnit], total: int) -> bool:
    async with units.open() as uow:
        rows = await uow.tx.find("notifications", {"channel": "email"}, limit=1000)
    states = [doc["status"] for doc in rows.items]
    return len(states) == total and "pending" not in states


async def _until_settled(units: Units[NotifyUnit], total: int, seconds: float = 20) -> None:
    for _ in range(int(seconds / 0.02)):
        if await _all_settled(units, total):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not settled within {seconds} s")


@pytest.mark.parametrize("fail_write", [False, True])
@pytest.mark.parametrize("concurrency", [1, 8])
async def test_failing_recipients_are_retried_then_dead_and_nothing_is_sent_twice(
    units: Units[NotifyUnit],
    tmp_path: Path,
    concurrency: int,
    fail_write: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sink = FailingSink(directory=tmp_path / "mail").start()
    settings = NotifySettings(
        smtp_host="127.0.0.1", smtp_port=sink.port, data_dir=tmp_path, dispatch_batch=4,
        dispatch_concurrency=concurrency, dispatch_idle_seconds=0.05, max_attempts=ATTEMPTS,
        retry_base_seconds=0.05, retry_max_seconds=0.2,
    )  # fmt: skip
    unwritten: set[str] = set()  # addresses whose successful send was not recorded
    record = handlers.record_outcomes

    async def failing_once(uow: NotifyUnit, outcomes: Any, policy: Any) -> None:
        if fail_write and not unwritten and any(o.error is None for o in outcomes):
            unwritten.update(o.notification.target for o in outcomes if o.error is None)
            raise OSError("disk I/O error")  # the write of these outcomes fails, once
        await record(uow, outcomes, policy)

    monkeypatch.setattr(handlers, "record_outcomes", failing_once)
    deps = bootstrap(units.store, units.outbox, settings)
    await notify(units, [registered(i) for i in range(10)])
    running = asyncio.create_task(deps.dispatcher.run())
    try:
        await asyncio.sleep(0.1)  # the retries of the first rows are pending
        await notify(units, [registered(i) for i in range(10, 20)])
        deps.dispatcher.wake()
        await _until_settled(units, 20)
        await asyncio.sleep(0.3)  # a duplicate would arrive in here
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await deps.dispatcher.close()
        sink.stop()
    delivered = Counter(m["To"] for m in sink.received())
    # Exactly once; twice only what was sent but whose outcome was not written (at least once)
    assert {a for a, n in delivered.items() if n != 1} == unwritten
    assert set(delivered.values()) == ({1, 2} if fail_write else {1})
    assert set(delivered) == {f"siti{i}@example.id" for i in range(20) if i != 2}
    async with units.open() as uow:
        rows = (await uow.tx.find("notifications", {"channel": "email"}, limit=1000)).items
    by_address = {doc["recipient"]: doc for doc in rows}
    dead = [doc for doc in rows if doc["status"] == "dead"]
    assert [d["recipient"] for d in dead] == ["enterprise:1234567890102"]
    assert dead[0]["attempts"] == ATTEMPTS
    if not fail_write:  # else an attempt may have gone unrecorded (made again, not counted)
        assert sink.handler.rcpts["siti2@example.id"] == ATTEMPTS
        assert by_address["enterprise:1234567890101"]["attempts"] == 3
        assert by_address["enterprise:1234567890103"]["attempts"] == 2
        assert by_address["enterprise:1234567890104"]["attempts"] == 2  # the dropped one


class Stalling(_Keeper):
    """The ``stall``-th message is never accepted: its DATA hangs, then is refused."""

    def __init__(self, sink: SmtpSink, stall: int) -> None:
        super().__init__(sink)
        self.stall, self.datas = stall, 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.datas += 1
        if self.datas == self.stall:
            await asyncio.sleep(2)
            return "451 4.3.0 too late"
        return await super().handle_DATA(server, session, envelope)


async def test_stopped_mid_batch_and_restarted_every_mail_arrives_once(
    units: Units[NotifyUnit], tmp_path: Path
) -> None:
    sink = SmtpSink(directory=tmp_path / "mail")
    sink._controller = Controller(Stalling(sink, 3), hostname=sink.host, port=sink.port)
    sink._controller.start()
    settings = NotifySettings(
        smtp_host="127.0.0.1", smtp_port=sink.port, data_dir=tmp_path, dispatch_batch=8,
        dispatch_concurrency=1,
    )  # fmt: skip
    await notify(units, [registered(i) for i in range(8)])
    deps = bootstrap(units.store, units.outbox, settings)
    running = asyncio.create_task(deps.dispatcher.run())
    try:
        for _ in range(500):
            if sink.count >= 2:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # the third message is under way
        running.cancel()  # the service stops in the middle of the batch
        await asyncio.gather(running, return_exceptions=True)
        await deps.dispatcher.close()
        assert sink.count == 2
        restarted = bootstrap(units.store, units.outbox, settings)
        while await restarted.dispatcher.dispatch_due():
            pass
        await restarted.dispatcher.close()
        await _until_settled(units, 8)
    finally:
        sink.stop()
    delivered = Counter(m["To"] for m in sink.received())
    assert delivered == Counter(f"siti{i}@example.id" for i in range(8))
