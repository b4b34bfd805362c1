"""A real aiosmtpd server that offers PIPELINING and records what each client write held."""

from __future__ import annotations

import asyncio
from typing import Any

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


def mailer(port: int, connections: int = 2) -> SmtpMailer:
    return SmtpMailer(
        NotifySettings(smtp_host="127.0.0.1", smtp_port=port, smtp_connections=connections)
    )


async def send(smtp: SmtpMailer, to: str, n: int) -> None:
    await smtp.send(to=to, subject=f"Halo {n}", body=f".line\nbody {n}\n", message_id=f"n-{n}")
