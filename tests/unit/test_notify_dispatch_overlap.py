"""The dispatcher's throughput mechanics: the next pass sends while the previous pass's
outcomes are written, never sending anything twice; the SMTP transaction without
aiosmtplib's ``sendmail`` (its address parsing cost more CPU than the rest of a send)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from aiosmtplib import SMTPRecipientRefused, SMTPResponse, SMTPSenderRefused

from ikmkit.unit_of_work import Units
from services.notify import handlers
from services.notify.bootstrap import bootstrap
from services.notify.commands import SendOutcome
from services.notify.domain.model import DeliveryRetries
from services.notify.senders import _transaction
from services.notify.settings import NotifySettings
from services.notify.store import NotifyUnit
from tests.support.notify_dispatch import (
    T0,
    FakeMail,
    notify_units,
    pending,
    registered,
    until,
)

units = pytest.fixture(notify_units, name="units")


async def test_the_next_pass_sends_while_outcomes_are_recorded_and_none_twice(
    units: Units[NotifyUnit], monkeypatch: pytest.MonkeyPatch
) -> None:
    mail = FakeMail()
    deps = bootstrap(units.store, units.outbox, NotifySettings(dispatch_batch=1), email=mail)
    async with units.open() as uow:
        await handlers.notify_about(uow, [registered(i) for i in range(3)], {}, deps.subscriptions)
    units.clock = lambda: T0 + timedelta(seconds=1)
    first_recorded = asyncio.Event()
    release = asyncio.Event()
    record = handlers.record_outcomes

    async def slow_record(
        uow: NotifyUnit, outcomes: Sequence[SendOutcome], policy: DeliveryRetries
    ) -> None:
        if not first_recorded.is_set():
            first_recorded.set()
            await release.wait()  # the first pass's write takes long
        await record(uow, outcomes, policy)

    monkeypatch.setattr(handlers, "record_outcomes", slow_record)
    running = asyncio.create_task(deps.dispatcher.run())
    try:
        await asyncio.wait_for(first_recorded.wait(), 5)
        await until(lambda: _true(len(mail.sent) >= 2))  # sent meanwhile, not after the write
        release.set()
        await until(lambda: _true(len(mail.sent) >= 3))
        await until(lambda: _none_pending(units))
        await asyncio.sleep(0.05)  # a duplicate would be sent in here
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert len(mail.sent) == len(set(mail.sent)) == 3
    assert await pending(units) == 0


async def _true(value: bool) -> bool:
    return value


async def _none_pending(units: Units[NotifyUnit]) -> bool:
    return await pending(units) == 0


class FakeClient:
    """What ``_transaction`` uses of ``aiosmtplib.SMTP``, answering from a script."""

    def __init__(self, answers: dict[bytes, int]) -> None:
        self.answers = answers
        self.commands: list[bytes] = []
        self.is_ehlo_or_helo_needed = True

    async def ehlo(self) -> None:
        self.commands.append(b"EHLO")
        self.is_ehlo_or_helo_needed = False

    def supports_extension(self, name: str) -> bool:
        return name == "size"

    async def execute_command(self, *args: bytes) -> SMTPResponse:
        line = b" ".join(args)
        self.commands.append(line)
        return SMTPResponse(self.answers.get(args[0], 250), "ok")

    async def data(self, message: bytes) -> SMTPResponse:
        self.commands.append(b"DATA " + message)
        return SMTPResponse(250, "queued")

    async def rset(self) -> SMTPResponse:
        self.commands.append(b"RSET")
        return SMTPResponse(250, "ok")


async def test_a_transaction_is_mail_rcpt_data_with_the_size() -> None:
    client = FakeClient({})
    await _transaction(_smtp(client), "noreply@ikm.example", "siti@example.id", b"hello\r\n")
    assert client.commands == [
        b"EHLO",
        b"MAIL FROM:<noreply@ikm.example> SIZE=7",
        b"RCPT TO:<siti@example.id>",
        b"DATA hello\r\n",
    ]


@pytest.mark.parametrize(
    ("refused", "error"), [(b"MAIL", SMTPSenderRefused), (b"RCPT", SMTPRecipientRefused)]
)
async def test_a_refusal_raises_and_resets_the_envelope(refused: bytes, error: type) -> None:
    client = FakeClient({refused: 550})
    with pytest.raises(error):
        await _transaction(_smtp(client), "noreply@ikm.example", "siti@example.id", b"x")
    assert client.commands[-1] == b"RSET"
    assert not any(c.startswith(b"DATA") for c in client.commands)


def _smtp(client: FakeClient) -> Any:
    return client
