"""The notify dispatcher alone (no Kafka, no consumer): the bench's events are turned into
notifications by the real consumer first (not measured), then the real ``Dispatcher`` sends
every due e-mail to the SMTP sink process and records the outcomes, pass after pass. In the
same run, before and after, a bare pooled pipelined client's rate against a fresh sink (the
ceiling the notify bench compares with; aiosmtplib's one-by-one ``sendmail`` too, after).
Reports e-mails/s, the ratio, and this process's CPU
time per e-mail; ``--profile out.prof`` for cProfile of the dispatch phase:

    python -m bench._dispatch_alone [--events 5000] [--profile out.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import functools
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._notify_alone import _Runtime
from bench.common import embedded_clients
from bench.notify import _event, _sink_capacity, _SinkProcess
from contracts.registry import ENTERPRISE_TOPIC
from ikmkit.messaging.inbox import INBOX_COLLECTIONS
from ikmkit.messaging.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.store.sqlite import SqliteStore
from ikmkit.unit_of_work import Units
from services.notify import consumers
from services.notify.bootstrap import bootstrap
from services.notify.queries import DueWork
from services.notify.settings import NotifySettings
from services.notify.store import COLLECTIONS, NotifyUnit
from tests.support.records import Record


async def run(events: int, profile: str | None) -> None:
    records = [Record(ENTERPRISE_TOPIC, i % 3, i, *_event(i)) for i in range(events)]
    with tempfile.TemporaryDirectory() as name:
        workdir = Path(name)
        before = await _sink_capacity(workdir / "b", events, NotifySettings().smtp_connections)
        sink = _SinkProcess(workdir / "sink")
        store = SqliteStore(workdir / "alone.db")
        await store.open([*COLLECTIONS, *INBOX_COLLECTIONS, *OUTBOX_COLLECTIONS])
        settings = NotifySettings(data_dir=workdir, smtp_port=sink.port, dispatch_batch=2000)
        deps = bootstrap(store, Outbox("notify"), settings)
        consumer = consumers.build_consumer(deps, _Runtime())  # type: ignore[arg-type]
        for start in range(0, len(records), 1000):
            await consumer.process(records[start : start + 1000])
        phases = _time_phases(deps.units)
        profiler = cProfile.Profile(time.process_time) if profile else None
        wall, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        loop = asyncio.create_task(deps.dispatcher.run())  # as the service runs it
        # The sink's count is a file it rewrites every 20 ms: nothing to wait on but time.
        while sink.count < events:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        async with store.transaction() as tx:
            recorded = await tx.count("deliveries")
        assert recorded == events, f"{recorded} outcomes recorded for {events} e-mails"
        await deps.dispatcher.close()
        sink.stop()
        await store.close()
        after = await _sink_capacity(workdir / "a", events, settings.smtp_connections)
        one_by_one = await _sink_capacity(
            workdir / "o", events, settings.smtp_connections, pipelined=False
        )
    rate, ceiling = events / wall, (before + after) / 2
    rows = phases.pop("rows read")
    print("wall per phase: " + ", ".join(f"{k} {v:.2f}s" for k, v in phases.items()), end="")
    print(f"; {rows:,.0f} notifications read")
    print(
        f"{events:,} e-mails: {rate:,.0f}/s; bare pipelined client {before:,.0f} /"
        f" {after:,.0f}/s; ratio {rate / ceiling:.2f}; cpu {cpu / events * 1e6:.0f} us/e-mail"
        f" (bare one-by-one client: {one_by_one:,.0f}/s)"
    )


def _time_phases(units: Units[NotifyUnit]) -> dict[str, float]:
    """Wall time in the pass's reads (due work) and writes (outcomes): the rest is sending."""
    spent = {"read": 0.0, "record": 0.0, "rows read": 0}
    read, write = units.read, units.run

    async def timed(name: str, call: Any, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            found = await call(*args)
            if isinstance(found, DueWork):
                spent["rows read"] += len(found.notifications)
            return found
        finally:
            spent[name] += time.perf_counter() - started

    units.read = functools.partial(timed, "read", read)  # type: ignore[method-assign]
    units.run = functools.partial(timed, "record", write)  # type: ignore[method-assign]
    return spent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--profile")
    args = parser.parse_args()
    asyncio.run(run(args.events, args.profile))


if __name__ == "__main__":
    embedded_clients()
    main()
