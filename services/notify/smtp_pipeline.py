"""SMTP transactions with PIPELINING (RFC 2920) on connections aiosmtplib opened.

aiosmtplib connects, does TLS or STARTTLS, AUTH and EHLO; it reads one reply per command
written, and drops what arrives while a parsed reply waits to be picked up, so it cannot
pipeline. When the server advertises PIPELINING, the transport is handed to ``Pipelined``,
which reads the replies in order, each into the future of the command it answers, however
they arrive. ``Links`` then sends a message's MAIL, RCPT and DATA in one write, and its body
in the next together with the MAIL, RCPT and DATA of the message waiting next for the
connection (RFC 2920 allows commands after the end of data in the same group): one write
and one round trip per e-mail instead of two, on both ends of the connection.

The connection belongs to whoever writes next. A refused envelope is reset (RSET, with the
next envelope) so the next transaction starts clean; a refused message ended its own
transaction. Either fails that e-mail only. A next envelope whose connection dropped before
its body went out was never a message: it is sent again on a fresh connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

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

Reply = asyncio.Future[SMTPResponse]


class OneByOne(Protocol):
    """A pooled connection to a server without PIPELINING, past EHLO."""

    @property
    def is_connected(self) -> bool: ...

    async def send(self, sender: str, to: str, message: bytes) -> None: ...

    async def quit(self) -> None: ...

    def close(self) -> None: ...


class Pipelined(asyncio.Protocol):
    """One SMTP connection, past EHLO; each command written gets the future of its reply.
    ``timeout`` bounds one e-mail's transaction."""

    def __init__(self, transport: asyncio.BaseTransport, *, size: bool, timeout: float) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        self._transport = transport
        self._size = size
        self.timeout = timeout
        self._buffer = bytearray()
        self._lines: list[str] = []  # of a multi-line reply not complete yet
        self._waiting: deque[Reply] = deque()  # one per command written, in order
        self._lost: Exception | None = None
        transport.set_protocol(self)

    @property
    def is_connected(self) -> bool:
        return self._lost is None and not self._transport.is_closing()

    def envelope(self, sender: str, to: str, message: bytes) -> bytes:
        """MAIL, RCPT and DATA of one message (three replies)."""
        size = f" SIZE={len(message)}" if self._size else ""
        return f"MAIL FROM:<{sender}>{size}\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode()

    async def quit(self) -> None:
        try:
            async with asyncio.timeout(self.timeout):
                await self.write(b"QUIT\r\n", 1)[0]
        finally:
            self.close()

    def close(self) -> None:
        if not self._transport.is_closing():
            self._transport.close()

    def write(self, data: bytes, replies: int) -> list[Reply]:
        """Write ``data`` holding ``replies`` commands; the futures of their replies."""
        if not self.is_connected:
            raise SMTPServerDisconnected("Connection lost")
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in range(replies)]
        self._waiting.extend(futures)
        self._transport.write(data)
        return futures

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
                reply = SMTPResponse(int(line[:3]), "\n".join(self._lines))
                self._lines = []
                if not self._waiting:  # unasked for (a 421 before closing): the end of it
                    self._fail(SMTPServerDisconnected(f"{reply.code} {reply.message}"))
                    return
                future = self._waiting.popleft()
                if not future.done():
                    future.set_result(reply)

    def eof_received(self) -> bool:
        self._fail(SMTPServerDisconnected("Unexpected EOF received"))
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(SMTPServerDisconnected("Connection lost"))

    def _fail(self, error: Exception) -> None:
        if self._lost is None:
            self._lost = error
        while self._waiting:
            future = self._waiting.popleft()
            if not future.done():
                future.set_exception(error)
                future.exception()  # retrieved: a reply nobody waits for (RSET's) logs nothing
        self.close()


def body(message: bytes) -> bytes:
    """The message as DATA sends it: leading dots doubled, ended by a lone dot."""
    return _LEADING_DOT.sub(b"..", message) + b".\r\n"


async def refusal(envelope: Sequence[Reply], sender: str, to: str) -> Exception | None:
    """What aiosmtplib's ``sendmail`` would raise unless MAIL, RCPT and DATA were accepted."""
    mail, rcpt, data = [await reply for reply in envelope]
    if mail.code != SMTPStatus.completed:
        return SMTPSenderRefused(mail.code, mail.message, sender)
    if rcpt.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
        return SMTPRecipientRefused(rcpt.code, rcpt.message, to)
    if data.code != SMTPStatus.start_input:
        return SMTPDataError(data.code, data.message)
    return None


Link = Pipelined | OneByOne


@dataclass
class _Turn:
    """An e-mail waiting for a connection. It is handed one when its turn comes, with its
    envelope already written (the replies' futures) when that went out with a body."""

    to: str
    message: bytes
    handed: asyncio.Future[tuple[Link | None, list[Reply] | None]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class _Hold:
    link: Link | None
    envelope: list[Reply] | None
    owned: bool = True  # this e-mail writes next on the connection, and hands it on


class Links:
    """``connections`` connections (``open_link`` connects when one is first needed, and
    again after a failure), each written on by one e-mail at a time, in the order they came."""

    def __init__(self, open_link: Callable[[], Awaitable[Link]], connections: int) -> None:
        self._open = open_link
        self._idle: list[Link | None] = [None] * connections  # None: not connected
        self._turns: deque[_Turn] = deque()

    async def send(self, sender: str, to: str, message: bytes) -> None:
        turn = _Turn(to, message)
        hold = _Hold(*await self._take(turn))
        try:
            await self._send(hold, sender, turn)
        except BaseException as exc:
            # A refusal is a reply: the connection goes on. Anything else while it is still
            # ours, or a wait for the end of data cut short (a stop, a timeout: the server is
            # stuck), leaves it in an unknown state: closed.
            if hold.link is not None and (hold.owned or not isinstance(exc, SMTPResponseException)):
                hold.link.close()
                hold.link = None
            raise
        finally:
            if hold.owned:
                self._give(hold.link)

    async def _send(self, hold: _Hold, sender: str, turn: _Turn) -> None:
        if hold.link is None or not hold.link.is_connected:
            await self._reopen(hold)
        link = hold.link
        if not isinstance(link, Pipelined):
            assert link is not None
            await link.send(sender, turn.to, turn.message)
            return
        handed = hold.envelope is not None
        try:
            async with asyncio.timeout(link.timeout):
                await self._transaction(hold, link, sender, turn)
        except (SMTPServerDisconnected, SMTPResponseException) as exc:
            if not (handed and hold.owned and _unanswered(exc)):
                raise
            # Its envelope went out with another body on a connection that dropped before
            # this body was written: the e-mail was not sent. Once more, on a new connection.
            await self._reopen(hold)
            await self._send(hold, sender, turn)

    async def _transaction(self, hold: _Hold, link: Pipelined, sender: str, turn: _Turn) -> None:
        envelope = hold.envelope or link.write(link.envelope(sender, turn.to, turn.message), 3)
        refused = await refusal(envelope, sender, turn.to)
        if refused is not None:
            if envelope[2].result().code == SMTPStatus.start_input:
                raise refused  # DATA accepted all the same: the server waits for a message
            # RSET: the next transaction starts clean (MAIL may have opened one)
            self._hand_on(hold, link, sender, b"RSET\r\n", 1)[0].add_done_callback(
                lambda reply: _closed_unless_reset(reply, link)
            )
            raise refused
        done = await self._hand_on(hold, link, sender, body(turn.message), 1)[0]
        if done.code != SMTPStatus.completed:
            raise SMTPDataError(done.code, done.message)

    async def _reopen(self, hold: _Hold) -> None:
        if hold.link is not None:
            hold.link.close()
        hold.link = None
        hold.link, hold.envelope = await self._open(), None

    def _hand_on(
        self, hold: _Hold, link: Pipelined, sender: str, data: bytes, replies: int
    ) -> list[Reply]:
        """Write ``data`` and, in the same write, the envelope of the next e-mail waiting,
        which then owns the connection (with nobody waiting, it goes back to the pool)."""
        turn = self._waiting()
        extra = link.envelope(sender, turn.to, turn.message) if turn else b""
        written = link.write(data + extra, replies + 3 if turn else replies)
        hold.owned = False
        if turn is None:
            self._idle.append(link)
        else:
            self._turns.popleft()
            turn.handed.set_result((link, written[replies:]))
        return written[:replies]

    async def _take(self, turn: _Turn) -> tuple[Link | None, list[Reply] | None]:
        if self._idle and self._waiting() is None:
            return self._idle.pop(), None
        self._turns.append(turn)
        try:
            return await turn.handed
        except asyncio.CancelledError:
            if turn.handed.done() and not turn.handed.cancelled():
                link, _ = turn.handed.result()  # handed just as it was cancelled
                if link is not None:
                    link.close()
                self._give(None)
            raise

    def _waiting(self) -> _Turn | None:
        """The first e-mail still waiting for a connection (not cancelled meanwhile)."""
        while self._turns and self._turns[0].handed.done():
            self._turns.popleft()
        return self._turns[0] if self._turns else None

    def _give(self, link: Link | None) -> None:
        turn = self._waiting()
        if turn is None:
            self._idle.append(link)
        else:
            self._turns.popleft()
            turn.handed.set_result((link, None))

    async def close(self) -> None:
        while self._idle:
            link = self._idle.pop()
            if link is not None and link.is_connected:
                with contextlib.suppress(Exception):
                    await link.quit()


def _unanswered(error: Exception) -> bool:
    """The connection failed (dropped, or garbled replies), not a reply refusing something."""
    return isinstance(error, SMTPServerDisconnected) or (
        isinstance(error, SMTPResponseException) and error.code == -1
    )


def _closed_unless_reset(reply: Reply, link: Pipelined) -> None:
    """An RSET refused leaves the next transaction in doubt: that connection is done."""
    if reply.cancelled() or reply.exception() is not None or reply.result().code != 250:
        link.close()
