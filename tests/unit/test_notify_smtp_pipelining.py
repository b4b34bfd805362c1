"""SMTP PIPELINING (RFC 2920) against real SMTP servers (aiosmtpd over a socket): MAIL, RCPT
and DATA go in one write when the server advertises it, one by one when it does not; a
refused sender or recipient still fails that one e-mail, and the pool goes on sending.

A small TCP relay between the mailer and the server records what the client wrote in each
segment: on localhost a small write arrives whole, so "MAIL, RCPT and DATA in one segment"
is what pipelining looks like on the wire (without it the client waits for each reply)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtplib import SMTPRecipientRefused, SMTPSenderRefused

from ikm_cli.devextras import SmtpSink
from ikmdev.infra import free_port
from services.notify.senders import SmtpMailer
from services.notify.settings import NotifySettings

REFUSED = "nobody@example.id"


class Refusing:
    """Keeps every message; refuses ``REFUSED`` as a recipient and a sender."""

    def __init__(self) -> None:
        self.kept: list[tuple[list[str], bytes]] = []

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address == REFUSED:
            return "550 5.7.1 sender refused"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address == REFUSED:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.kept.append((list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted"


class Pipelining(Refusing):
    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]


class Wire:
    """A TCP relay recording each segment the client wrote."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.segments: list[bytes] = []
        self.port = 0
        self._server: asyncio.Server | None = None

    async def start(self) -> Wire:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, log: bool) -> None:
            while chunk := await src.read(65536):
                if log:
                    self.segments.append(chunk)
                dst.write(chunk)
                await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer, True), pump(up_reader, writer, False))

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()

    def pipelined(self) -> int:
        """Segments holding MAIL, RCPT and DATA together."""
        return sum(
            1 for s in self.segments if b"MAIL FROM" in s and b"RCPT TO" in s and b"DATA\r\n" in s
        )


async def _served(handler: Refusing) -> AsyncIterator[tuple[Refusing, Wire]]:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    wire = await Wire(controller.port).start()
    try:
        yield handler, wire
    finally:
        await wire.stop()
        controller.stop()


@pytest.fixture
async def pipelining() -> AsyncIterator[tuple[Refusing, Wire]]:
    async for served in _served(Pipelining()):
        yield served


@pytest.fixture
async def one_by_one() -> AsyncIterator[tuple[Refusing, Wire]]:
    async for served in _served(Refusing()):
        yield served


def mailer(port: int, connections: int = 2) -> SmtpMailer:
    return SmtpMailer(
        NotifySettings(smtp_host="127.0.0.1", smtp_port=port, smtp_connections=connections)
    )


async def send(smtp: SmtpMailer, to: str, n: int) -> None:
    await smtp.send(to=to, subject=f"Halo {n}", body=f".line\nbody {n}\n", message_id=f"n-{n}")


async def test_mail_rcpt_and_data_go_in_one_write_when_the_server_offers_pipelining(
    pipelining: tuple[Refusing, Wire],
) -> None:
    handler, wire = pipelining
    smtp = mailer(wire.port)
    await asyncio.gather(*(send(smtp, f"owner{n}@example.id", n) for n in range(10)))
    await smtp.close()
    assert wire.pipelined() == 10
    assert sorted(rcpts[0] for rcpts, _ in handler.kept) == sorted(
        f"owner{n}@example.id" for n in range(10)
    )
    # the body arrives intact: a leading dot is stuffed on the wire and unstuffed by the server
    assert all(b"\r\n.line" in content or b"\n.line" in content for _, content in handler.kept)


async def test_without_pipelining_each_command_waits_for_its_reply(
    one_by_one: tuple[Refusing, Wire],
) -> None:
    handler, wire = one_by_one
    smtp = mailer(wire.port)
    await asyncio.gather(*(send(smtp, f"owner{n}@example.id", n) for n in range(4)))
    await smtp.close()
    assert wire.pipelined() == 0
    assert len(handler.kept) == 4


@pytest.fixture(params=[Pipelining, Refusing], ids=["pipelining", "one_by_one"])
async def either(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Refusing, Wire]]:
    async for served in _served(request.param()):
        yield served


async def test_a_refused_recipient_fails_that_mail_only(either: tuple[Refusing, Wire]) -> None:
    handler, wire = either
    smtp = mailer(wire.port)
    targets = [REFUSED if n % 3 == 0 else f"owner{n}@example.id" for n in range(12)]
    results = await asyncio.gather(
        *(send(smtp, to, n) for n, to in enumerate(targets)), return_exceptions=True
    )
    await smtp.close()
    refused = [n for n, r in enumerate(results) if isinstance(r, SMTPRecipientRefused)]
    assert refused == [0, 3, 6, 9]
    assert [r for r in results if r is not None and not isinstance(r, SMTPRecipientRefused)] == []
    assert sorted(r[0] for r, _ in handler.kept) == sorted(t for t in targets if t != REFUSED)


async def test_a_refused_sender_raises_and_sends_nothing(
    pipelining: tuple[Refusing, Wire],
) -> None:
    handler, wire = pipelining
    smtp = SmtpMailer(NotifySettings(smtp_host="127.0.0.1", smtp_port=wire.port, smtp_from=REFUSED))
    with pytest.raises(SMTPSenderRefused):
        await send(smtp, "owner@example.id", 1)
    await smtp.close()
    assert handler.kept == []


async def test_the_dev_sink_advertises_pipelining_and_keeps_every_mail() -> None:
    sink = SmtpSink().start()
    wire = await Wire(sink.port).start()
    try:
        smtp = mailer(wire.port)
        await asyncio.gather(*(send(smtp, f"owner{n}@example.id", n) for n in range(5)))
        await smtp.close()
    finally:
        await wire.stop()
        sink.stop()
    assert wire.pipelined() == 5
    assert sorted(m["To"] for m in sink.received()) == [f"owner{n}@example.id" for n in range(5)]
