"""Webhook receivers that answer too slowly or too much, over real TCP: a send takes at most
NOTIFY_WEBHOOK_TIMEOUT in all and reads a bounded answer, so one subscriber's endpoint cannot
hold the dispatcher's pass (every e-mail and webhook behind it) nor its memory."""

from __future__ import annotations

import asyncio
import time

import pytest

from services.notify.senders import ANSWER_READ_MAX, WebhookRejected
from tests.support.http_peers import ScriptedPeer, dribble, signed, webhook_sender

BODY = b'{"id":"e-1"}'
TIMEOUT = 1.0


async def test_an_answer_dribbled_after_its_status_is_not_waited_for() -> None:
    """200 at once, then a byte of its body every 0.1 s: each read is within the timeout, so
    the send went on for as long as the receiver liked (the whole pass waited with it)."""

    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        await dribble(writer, b"x", every=0.1, until=30)

    async with ScriptedPeer(script) as peer, webhook_sender(TIMEOUT) as sender:
        started = time.monotonic()
        await asyncio.wait_for(sender.post(peer.url, BODY, signed(peer.url, BODY)), 10)
        assert time.monotonic() - started < TIMEOUT + 1  # accepted: its status said so


async def test_headers_dribbled_fail_the_send_at_the_timeout() -> None:
    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        await dribble(writer, b"X-Wait: 1\r\n", every=0.1, until=30)

    async with ScriptedPeer(script) as peer, webhook_sender(TIMEOUT) as sender:
        started = time.monotonic()
        with pytest.raises(WebhookRejected) as refused:
            await asyncio.wait_for(sender.post(peer.url, BODY, signed(peer.url, BODY)), 10)
        assert time.monotonic() - started < TIMEOUT + 1
        masked = peer.url.replace("s3cret", "***")  # kept errors hold no credentials
    assert str(refused.value) == f"no answer within {TIMEOUT} s from {masked}"


async def test_a_huge_answer_is_not_read_into_memory() -> None:
    size = 256 * 1024 * 1024

    async def script(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode())
        await peer.body(writer, size)

    async with ScriptedPeer(script) as peer, webhook_sender(30.0) as sender:
        await sender.post(peer.url, BODY, signed(peer.url, BODY))
        await asyncio.sleep(0.2)  # the peer notices the hang-up
        # What the peer wrote: what notify read plus what the sockets' buffers held.
        assert peer.written < ANSWER_READ_MAX + 16 * 1024 * 1024, peer.written


async def test_a_small_answer_keeps_the_connection_for_the_next_send() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        head = await reader.readuntil(b"\r\n\r\n")  # the next send, on this connection
        length = head.lower().split(b"content-length:")[1].split(b"\r\n")[0]
        await reader.readexactly(int(length))
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()

    async with ScriptedPeer(script) as peer, webhook_sender(TIMEOUT) as sender:
        await sender.post(peer.url, BODY, signed(peer.url, BODY))
        await sender.post(peer.url, BODY, signed(peer.url, BODY))
    assert peer.requests == 1  # one connection, both sends
