"""SMTP transactions with PIPELINING (RFC 2920) on a connection aiosmtplib opened.

aiosmtplib connects, does TLS or STARTTLS, AUTH and EHLO; it reads one reply per command
written, and drops what arrives while a parsed reply waits to be picked up, so it cannot
pipeline. When the server advertises PIPELINING, the transport is handed to ``Pipelined``,
which sends MAIL, RCPT and DATA in one write and reads the three replies in order, then
the body: two round trips per e-mail instead of four, on both ends of the connection.
"""

from __future__ import annotations

import asyncio
import re
from collections import deque

from aiosmtplib import (
    SMTPDataError,
    SMTPRecipientRefused,
    SMTPResponse,
    SMTPResponseException,
    SMTPSenderRefused,
    SMTPServerDisconnected,
    SMTPStatus,
)

_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


class Pipelined(asyncio.Protocol):
    """One SMTP connection, past EHLO, whose replies are read in order however they arrive.
    ``timeout`` bounds a whole transaction (two round trips)."""

    def __init__(self, transport: asyncio.BaseTransport, *, size: bool, timeout: float) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self._transport = transport
        self._size = size
        self._timeout = timeout
        self._buffer = bytearray()
        self._lines: list[str] = []  # of a multi-line reply not complete yet
        self._replies: deque[SMTPResponse] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self._lost: Exception | None = None
        transport.set_protocol(self)

    @property
    def is_connected(self) -> bool:
        return self._lost is None and not self._transport.is_closing()

    async def send(self, sender: str, to: str, message: bytes) -> None:
        """MAIL, RCPT and DATA in one write; the body once DATA is accepted. A refusal
        raises as aiosmtplib's ``sendmail`` would (the caller then drops the connection)."""
        # One timer for the transaction: entering ``asyncio.timeout`` per reply cost more CPU
        # than parsing the reply.
        async with asyncio.timeout(self._timeout):
            await self._transaction(sender, to, message)

    async def _transaction(self, sender: str, to: str, message: bytes) -> None:
        size = f" SIZE={len(message)}" if self._size else ""
        self._write(f"MAIL FROM:<{sender}>{size}\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode())
        mail, rcpt, data = await self._reply(), await self._reply(), await self._reply()
        if mail.code != SMTPStatus.completed:
            raise SMTPSenderRefused(mail.code, mail.message, sender)
        if rcpt.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
            raise SMTPRecipientRefused(rcpt.code, rcpt.message, to)
        if data.code != SMTPStatus.start_input:
            raise SMTPDataError(data.code, data.message)
        self._write(_LEADING_DOT.sub(b"..", message) + b".\r\n")
        done = await self._reply()
        if done.code != SMTPStatus.completed:
            raise SMTPDataError(done.code, done.message)

    async def quit(self) -> None:
        try:
            self._write(b"QUIT\r\n")
            async with asyncio.timeout(self._timeout):
                await self._reply()
        finally:
            self.close()

    def close(self) -> None:
        if not self._transport.is_closing():
            self._transport.close()

    def _write(self, data: bytes) -> None:
        if not self.is_connected:
            raise SMTPServerDisconnected("Connection lost")
        self._transport.write(data)

    async def _reply(self) -> SMTPResponse:
        while not self._replies:
            if self._lost is not None:
                raise self._lost
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        return self._replies.popleft()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(b"\n")) >= 0:
            line = bytes(self._buffer[: end + 1])
            del self._buffer[: end + 1]
            if not line[:3].isdigit():
                self._fail(SMTPResponseException(-1, "Malformed SMTP response line"))
                return
            self._lines.append(line[4:].strip(b" \t\r\n").decode("utf-8", "surrogateescape"))
            if line[3:4] != b"-":
                self._replies.append(SMTPResponse(int(line[:3]), "\n".join(self._lines)))
                self._lines = []
        if self._replies:
            self._wake()

    def eof_received(self) -> bool:
        self._fail(SMTPServerDisconnected("Unexpected EOF received"))
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(SMTPServerDisconnected("Connection lost"))

    def _fail(self, error: Exception) -> None:
        if self._lost is None:
            self._lost = error
        self.close()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
