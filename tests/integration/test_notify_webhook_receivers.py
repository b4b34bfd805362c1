"""Webhook receivers that answer too slowly or too much, over real TCP: a send takes at most
NOTIFY_WEBHOOK_TIMEOUT in all and reads a bounded answer, so one subscriber's endpoint cannot
hold the dispatcher's pass (every e-mail and webhook behind it) nor its memory."""

from __future__ import annotations

import asyncio
import ssl
import time
from pathlib import Path

import httpx
import pytest

from services.notify.senders import ANSWER_READ_MAX, WebhookRejected
from tests.support.http_peers import (
    ScriptedPeer,
    certificate_for,
    dribble,
    read_request,
    signed,
    webhook_sender,
)

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


async def test_a_tls_connection_serves_only_the_name_its_certificate_was_checked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two subscribers' names at one address (shared hosting, a CDN): sends are pinned to the
    address, so a connection pooled by address would carry the second name's webhook (its
    signature, its masked data) over TLS checked for the first name's certificate."""
    cert, key = certificate_for(tmp_path, "hooks-a.test")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts hooks-a.test's
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    hosts: list[bytes] = []

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        while True:  # later requests on this connection
            hosts.append((await read_request(reader))[b"host"])
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")

    names = {"hooks-a.test": ["127.0.0.1"], "hooks-b.test": ["127.0.0.1"]}
    async with ScriptedPeer(keep_alive, tls) as peer, webhook_sender(5.0, names) as sender:
        port = peer.port
        first, other = (f"https://hooks-{x}.test:{port}/in" for x in "ab")
        await sender.post(first, BODY, signed(first, BODY))
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await sender.post(other, BODY, signed(other, BODY))
        await sender.post(first, BODY, signed(first, BODY))
    assert hosts == [f"hooks-a.test:{port}".encode()]  # the same name, kept alive


async def test_a_send_on_a_connection_the_receiver_was_closing_goes_on_a_new_one() -> None:
    """Receivers close an idle connection after a few seconds (uvicorn, Node.js and Apache
    after 5 s: httpx's own pool time), so a send can go out on a connection the receiver is
    closing, which it drops unanswered. That send failed and waited for its retry (2 s and
    more, an attempt in the ledger); nothing was delivered, so it goes at once on a new
    connection (receivers drop repeats by ``webhook-id`` in any case)."""
    answered: list[int] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = peer.requests
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        answered.append(connection)
        await read_request(reader)  # the next send, on this connection
        if connection == 1:
            return  # the receiver hangs up without an answer: its keep-alive ran out
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        answered.append(connection)

    async with ScriptedPeer(script) as peer, webhook_sender(TIMEOUT) as sender:
        await sender.post(peer.url, BODY, signed(peer.url, BODY))
        await sender.post(peer.url, BODY, signed(peer.url, BODY))
    assert answered == [1, 2]  # the second send answered, on a second connection
