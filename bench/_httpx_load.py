"""``bench registry``'s load without wrk: client processes of concurrent httpx clients.

On a small machine these saturate before the server does (their req/s then measure the
clients), which is why ``make install`` installs wrk (``scripts/ensure-wrk``). A request
that gets no answer is counted as failed, by kind, never raised: the bench's stored =
counted = published checks decide, and the server may have stored such a request.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from bench._enterprises import json_body
from bench._wrk import LoadResult

REGISTRATIONS = 30_000
CLIENT_PROCESSES = 3
CONCURRENCY_PER_PROCESS = 32
KEEPALIVE_EXPIRY = 1.0
"""Seconds the httpx clients keep an idle connection: well under the server's keep-alive
(``KEEP_ALIVE_SECONDS``). With uvicorn's default and httpx's, both 5 s, both ends gave up on
an idle connection together; the server's clock starts when it wrote the answer, the client's
when it read it (later, on a loaded machine by seconds), so the client sent its next POST on
a connection the server was closing: reset (``httpx.ReadError``), never retried (a POST is
not idempotent). 44 of 12,000 registrations at load average 11-16; 0 of 12,000 with 1 s."""


@dataclass
class ClientTally:
    """What one client process saw: answers that were not 201, and requests that got no
    answer at all (a socket error: the server may still have stored them), by kind."""

    non_201: int = 0
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def failures(self) -> int:
        return self.non_201 + self.errors.total()

    def add(self, other: ClientTally) -> None:
        self.non_201 += other.non_201
        self.errors.update(other.errors)


async def client_load(url: str, token: str, start: int, count: int, tag: str) -> ClientTally:
    """``count`` registrations (NIBs ``tag`` + ``start``...), 32 at a time."""
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(
        max_connections=CONCURRENCY_PER_PROCESS, keepalive_expiry=KEEPALIVE_EXPIRY
    )
    next_index = start
    tally = ClientTally()
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            nonlocal next_index
            while next_index < start + count:
                i = next_index
                next_index += 1
                try:
                    response = await client.post("/enterprises", json=json_body(i, tag))
                except httpx.TransportError as exc:  # counted; the checks afterwards decide
                    tally.errors[type(exc).__name__] += 1
                    continue
                tally.non_201 += response.status_code != 201

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY_PER_PROCESS)))
    return tally


def _client_process(args: tuple[str, str, int, int, str]) -> ClientTally:
    return asyncio.run(client_load(*args))


def httpx_load(url: str, token: str, tag: str) -> LoadResult:
    share = REGISTRATIONS // CLIENT_PROCESSES
    jobs = [(url, token, n * share, share, tag) for n in range(CLIENT_PROCESSES)]
    started = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(CLIENT_PROCESSES) as pool:
        tallies = pool.map(_client_process, jobs)
    elapsed = time.perf_counter() - started
    tally = ClientTally()
    for each in tallies:
        tally.add(each)
    if tally.failures:
        print(f"httpx load: {tally.non_201} answers not 201; no answer: {dict(tally.errors)}")
    return LoadResult(
        f"httpx x{CLIENT_PROCESSES} processes",
        share * CLIENT_PROCESSES,
        tally.failures,
        elapsed,
        {},
        unanswered=tally.errors.total(),
    )
