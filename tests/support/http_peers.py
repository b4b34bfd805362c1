"""HTTP peers that misbehave as webhook receivers can: a raw TCP server on 127.0.0.1 whose
answer is a script (headers dribbled a line at a time, a body too slow or too large to read),
and the sender that calls it through the real SSRF guard."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

from services.notify.domain import webhooks
from services.notify.domain.destinations import AllowList
from services.notify.senders import HttpWebhookSender, WebhookGuard

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class ScriptedPeer:
    """Reads a request's head and answers with ``script``; counts the body bytes it wrote."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._server: asyncio.Server | None = None
        self.requests = 0
        self.written = 0

    async def __aenter__(self) -> ScriptedPeer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self._server.close_clients()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}/hooks/in?token=s3cret"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            await self._script(reader, writer)
        writer.close()

    async def body(self, writer: asyncio.StreamWriter, size: int, chunk: int = 65536) -> None:
        """``size`` bytes as fast as the client reads them (until it hangs up)."""
        while self.written < size:
            writer.write(b"x" * chunk)
            await writer.drain()
            self.written += chunk


async def dribble(writer: asyncio.StreamWriter, piece: bytes, every: float, until: float) -> None:
    """``piece`` every ``every`` seconds for ``until`` seconds: never a read timeout's pause."""
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        writer.write(piece)
        await writer.drain()
        await asyncio.sleep(every)


@contextlib.asynccontextmanager
async def webhook_sender(timeout: float) -> AsyncIterator[HttpWebhookSender]:
    sender = HttpWebhookSender(timeout, WebhookGuard(AllowList.parse("127.0.0.1")))
    try:
        yield sender
    finally:
        await sender.close()


def signed(url: str, body: bytes) -> dict[str, str]:
    subscription = webhooks.Subscription(
        id="s", url=url, event_types=["X"], secret="s" * 16, created_at=datetime.now(UTC)
    )
    return webhooks.signed_headers(subscription, body, str(int(time.time())), "n-1")
