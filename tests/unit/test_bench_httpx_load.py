"""The bench's httpx load generator (used when wrk is missing) counts a request the server
never answered as a failure instead of crashing the whole ``make bench``; the exactly-once
checks afterwards still decide (docs/performance.md, Registry)."""

from __future__ import annotations

import asyncio
import socket
import struct

import pytest

from bench import _httpx_load
from bench._httpx_load import client_load as _client_load
from bench._wrk import LoadResult

CREATED = b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}"
CONFLICT = b"HTTP/1.1 409 Conflict\r\ncontent-length: 2\r\ncontent-type: application/json\r\n\r\n{}"


async def _serve(reset_every: int, conflict_every: int) -> tuple[asyncio.Server, str, list[int]]:
    """An HTTP/1.1 server that answers 201 (409 to every ``conflict_every``-th request), and
    resets the connection (RST, as a server closing a socket with a request unread does)
    instead of answering every ``reset_every``-th."""
    seen = [0]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
            if not head:
                break
            length = next(
                int(line.split(b":")[1])
                for line in head.lower().split(b"\r\n")
                if line.startswith(b"content-length")
            )
            await reader.readexactly(length)
            seen[0] += 1
            if seen[0] % reset_every == 0:
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return
            writer.write(CONFLICT if seen[0] % conflict_every == 0 else CREATED)
            await writer.drain()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}", seen


def test_reset_connections_are_counted_not_raised() -> None:
    async def run() -> tuple[int, int, dict[str, int], int]:
        server, url, seen = await _serve(reset_every=10, conflict_every=10**9)
        async with server:
            tally = await _client_load(url, "token", 0, 200, "7000")
        return tally.failures, tally.non_201, dict(tally.errors), seen[0]

    failures, non_201, errors, seen = asyncio.run(run())
    assert seen >= 200 and failures == seen // 10 and non_201 == 0
    assert sum(errors.values()) == failures and set(errors) <= {"ReadError", "RemoteProtocolError"}


def test_answers_not_201_are_failures_too() -> None:
    async def run() -> tuple[int, int, int]:
        server, url, _ = await _serve(reset_every=10**9, conflict_every=5)
        async with server:
            tally = await _client_load(url, "token", 0, 100, "7000")
        return tally.failures, tally.non_201, tally.errors.total()

    assert asyncio.run(run()) == (20, 20, 0)


def test_clients_drop_idle_connections_before_the_server_does() -> None:
    """The load's clients give up an idle connection well before the server's keep-alive
    timeout (what ``bench.registry.start_service`` gives uvicorn): at equal timeouts the server
    reset connections the clients were sending on (``httpx.ReadError``, the crash of the
    first ``make bench`` without wrk)."""
    from bench._httpx_load import KEEPALIVE_EXPIRY
    from bench.registry import server_command

    command = server_command("services.registry.main:create_app", 8001)
    server_timeout = float(command[command.index("--timeout-keep-alive") + 1])
    assert server_timeout / 2 >= KEEPALIVE_EXPIRY


def test_the_client_processes_report_resets_as_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    """The path that crashed ``make bench``: the pool of client processes, a reset in one of
    them, and the load's result counting it (as unanswered: the server may have stored it)."""
    monkeypatch.setattr(_httpx_load, "REGISTRATIONS", 30)
    result: list[LoadResult] = []

    async def run() -> int:
        server, url, seen = await _serve(reset_every=10, conflict_every=10**9)
        async with server:
            load = asyncio.get_running_loop().run_in_executor(
                None, _httpx_load.httpx_load, url, "token", "7000"
            )
            result.append(await load)
        return seen[0]

    seen = asyncio.run(run())
    (load,) = result
    assert load.requests == 30 and seen == 30
    assert load.failures == load.unanswered == 3
