"""One write per e-mail on a PIPELINING connection (RFC 2920): the next message's MAIL, RCPT
and DATA go in the same write as the previous message's body, against a real SMTP server
(aiosmtpd over a socket, through the recording relay of ``test_notify_smtp_pipelining``).
A refused recipient, a refused message or a dropped connection in the middle of such a
chain fails that e-mail only: the next is neither lost, nor sent to the wrong recipient,
nor sent twice, and a refusal does not cost the connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtplib import SMTPDataError, SMTPRecipientRefused

from ikmdev.infra import free_port
from tests.support.smtp_wire import REFUSED, Pipelining, Wire, mailer, send

REFUSED_MESSAGE = "refused-message@example.id"  # DATA's end answered 554
DROPPING = "dropping@example.id"  # the server closes the connection at this RCPT


class Picky(Pipelining):
    """Refuses ``REFUSED`` at RCPT, a message to ``REFUSED_MESSAGE`` at the end of DATA, and
    drops the connection at the RCPT of ``DROPPING`` (the first ``drops`` times)."""

    def __init__(self, drops: int = 1) -> None:
        super().__init__()
        self.drops = drops

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address == DROPPING and self.drops:
            self.drops -= 1
            server.transport.close()
            return "421 4.4.2 closing"
        return await super().handle_RCPT(server, session, envelope, address, options)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if envelope.rcpt_tos == [REFUSED_MESSAGE]:
            return "554 5.6.0 message refused"
        return await super().handle_DATA(server, session, envelope)


class Counting(Wire):
    """The relay, counting the connections the client opened."""

    def __init__(self, upstream: int) -> None:
        super().__init__(upstream)
        self.connections = 0

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await super()._relay(reader, writer)


@pytest.fixture
async def picky() -> AsyncIterator[tuple[Picky, Counting]]:
    handler = Picky()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10)
    controller.start()
    wire = await Counting(controller.port).start()
    try:
        yield handler, wire
    finally:
        await wire.stop()
        controller.stop()


def _kept_by_recipient(handler: Picky) -> dict[str, list[bytes]]:
    kept: dict[str, list[bytes]] = {}
    for rcpts, content in handler.kept:
        assert len(rcpts) == 1
        kept.setdefault(rcpts[0], []).append(content)
    return kept


async def test_the_next_envelope_goes_in_the_write_of_the_previous_body(
    picky: tuple[Picky, Counting],
) -> None:
    handler, wire = picky
    smtp = mailer(wire.port, connections=1)
    await asyncio.gather(*(send(smtp, f"owner{n}@example.id", n) for n in range(6)))
    await smtp.close()
    writes = [s for s in wire.segments if not s.startswith((b"EHLO", b"QUIT"))]
    bodies = [s for s in writes if b"\r\n.\r\n" in s]
    # the first envelope alone, then each body with the next envelope, the last body alone
    assert len(writes) == 7
    assert writes[0].startswith(b"MAIL FROM") and b"\r\n.\r\n" not in writes[0]
    assert [b"MAIL FROM" in s for s in bodies] == [True] * 5 + [False]
    kept = _kept_by_recipient(handler)
    assert sorted(kept) == sorted(f"owner{n}@example.id" for n in range(6))
    for n in range(6):  # each body reached its own recipient, once
        [content] = kept[f"owner{n}@example.id"]
        assert f"body {n}".encode() in content


async def test_refusals_in_the_middle_fail_those_mails_only_on_the_same_connection(
    picky: tuple[Picky, Counting],
) -> None:
    handler, wire = picky
    smtp = mailer(wire.port, connections=1)
    targets = [
        REFUSED if n % 4 == 1 else REFUSED_MESSAGE if n % 4 == 2 else f"owner{n}@example.id"
        for n in range(12)
    ]
    results = await asyncio.gather(
        *(send(smtp, to, n) for n, to in enumerate(targets)), return_exceptions=True
    )
    await smtp.close()
    kinds = [type(r).__name__ for r in results]
    assert kinds == [
        "SMTPRecipientRefused" if n % 4 == 1 else "SMTPDataError" if n % 4 == 2 else "NoneType"
        for n in range(12)
    ]
    assert all(isinstance(results[n], SMTPRecipientRefused) for n in range(1, 12, 4))
    assert all(isinstance(results[n], SMTPDataError) for n in range(2, 12, 4))
    kept = _kept_by_recipient(handler)
    accepted = [n for n in range(12) if n % 4 in (0, 3)]
    assert sorted(kept) == sorted(f"owner{n}@example.id" for n in accepted)
    for n in accepted:
        [content] = kept[f"owner{n}@example.id"]
        assert f"body {n}".encode() in content
    assert wire.connections == 1  # a refusal is a reply, not a reason to reconnect


async def test_a_dropped_connection_fails_no_other_mail_and_sends_none_twice(
    picky: tuple[Picky, Counting],
) -> None:
    """The connection drops at the RCPT of the 4th e-mail, whose envelope went with the 3rd's
    body: its message was never sent, so it goes again on a new connection, once."""
    handler, wire = picky
    smtp = mailer(wire.port, connections=1)
    targets = [DROPPING if n == 3 else f"owner{n}@example.id" for n in range(8)]
    results = await asyncio.gather(
        *(send(smtp, to, n) for n, to in enumerate(targets)), return_exceptions=True
    )
    await smtp.close()
    assert results == [None] * 8
    kept = _kept_by_recipient(handler)
    assert sorted(kept) == sorted(targets)
    assert all(len(contents) == 1 for contents in kept.values())
    assert wire.connections == 2


async def test_a_connection_dropped_at_each_try_fails_that_mail_only(
    picky: tuple[Picky, Counting],
) -> None:
    handler, wire = picky
    handler.drops = 100
    smtp = mailer(wire.port, connections=1)
    targets = [DROPPING if n == 3 else f"owner{n}@example.id" for n in range(8)]
    results = await asyncio.gather(
        *(send(smtp, to, n) for n, to in enumerate(targets)), return_exceptions=True
    )
    await smtp.close()
    assert [n for n, r in enumerate(results) if r is not None] == [3]
    kept = _kept_by_recipient(handler)
    assert sorted(kept) == sorted(t for t in targets if t != DROPPING)
    assert all(len(contents) == 1 for contents in kept.values())
