"""E-mails keep going out while the service's event loop is held. In the service the
consumer's batches hold that loop (their Python and SQLite run on it) for a hundred
milliseconds and more while a backlog is read; at the 1.6 million run e-mails then left at
15-50 a second instead of 300-550, because every SMTP round trip waited for the loop.

Here the loop is held the way a busy consumer holds it: Python running for seconds at a time
(the GIL changes hands every few milliseconds), one loop turn between. Real SMTP server
(aiosmtpd, its own thread), real SQLite store (in memory)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from pathlib import Path

import pytest

from ikm_cli.devextras import SmtpSink
from ikmkit.unit_of_work import Units
from services.notify.bootstrap import bootstrap
from services.notify.settings import NotifySettings
from services.notify.store import NotifyUnit
from tests.support.notify_dispatch import T0, notify, notify_units, pending, registered

units = pytest.fixture(notify_units, name="units")

MAILS = 100
# The loop is held STALLS times, one turn between: what tells the old code from the new is
# the number of turns (on one loop each round trip needs one), not the time. A stall ends
# early once every mail is in, so its length only has to let a slow machine's sending
# thread finish (100 mails took ~10 s of held loop on a machine 3x slower than usual).
STALL = 2.5  # seconds the loop is held at most, each time
STALLS = 12


async def _hold_the_loop(done: int, sink: SmtpSink) -> int:
    """Hold the loop ``STALLS`` times (fewer once ``done`` mails arrived), a turn between;
    the mails the server had accepted when the last stall ended."""
    for _ in range(STALLS):
        end = time.perf_counter() + STALL
        while time.perf_counter() < end and sink.count < done:
            _spin(0.01)
        accepted = sink.count
        if accepted >= done:
            return accepted
        await asyncio.sleep(0)
    return accepted


def _spin(seconds: float) -> None:
    """Python running, as a consumer's batch does (the GIL changes hands meanwhile)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def test_mails_go_out_while_the_loop_is_held(
    units: Units[NotifyUnit], tmp_path: Path
) -> None:
    sink = SmtpSink(directory=tmp_path / "mail").start()
    settings = NotifySettings(
        smtp_host="127.0.0.1", smtp_port=sink.port, data_dir=tmp_path, dispatch_batch=MAILS
    )
    await notify(units, [registered(i) for i in range(MAILS)])
    units.clock = lambda: T0 + timedelta(seconds=1)
    deps = bootstrap(units.store, units.outbox, settings)
    running = asyncio.create_task(deps.dispatcher.run())
    try:
        # Before: 8 connections, each e-mail two round trips, each a loop turn: at most
        # 8 x 12 / 2 = 48 of the 100 in 12 turns (connecting takes some of them).
        assert await _hold_the_loop(MAILS, sink) == MAILS
        for _ in range(500):  # the outcomes are recorded on the loop, once it is free
            if await pending(units) == 0:
                break
            await asyncio.sleep(0.01)
        assert await pending(units) == 0
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await deps.dispatcher.close()
        sink.stop()
    assert sorted(m["To"] for m in sink.received()) == sorted(
        f"siti{i}@example.id" for i in range(MAILS)
    )
