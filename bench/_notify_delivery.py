"""Notify's delivery phase in the service, as ``python -m bench notify`` runs it (its own
embedded broker, the SMTP sink process, the real service in this process), reporting this
process's CPU time per e-mail once the consumer has caught up: the steady figure on a
shared machine, where the wall-clock rates of two runs differ by 1.5x. Also the e-mails
that went out while the consumer was catching up (the service started with the whole
backlog waiting), and at what rate: what a backlog leaves the dispatcher. ``--spy out.txt``
records that phase with py-spy (raw format; py-spy itself is not a dependency):

    python -m bench._notify_delivery [--events 15000] [--spy out.txt --seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path

from bench.common import embedded_clients
from bench.notify import _publish, _SinkProcess
from contracts.registry import ENTERPRISE_TOPIC
from ikmdev.infra import EmbeddedKafka
from ikmkit.messaging.inbox import INBOX
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.store.sqlite import SqliteStore
from services.notify.main import definition
from services.notify.settings import NotifySettings
from tests.support.service import running_service


async def run(events: int, spy: str | None, seconds: int) -> None:
    broker = EmbeddedKafka().start()
    try:
        await ensure_topics(broker.bootstrap_servers, [ENTERPRISE_TOPIC], partitions=3)
        await _publish(broker.bootstrap_servers, events)
        with tempfile.TemporaryDirectory() as name:
            await _deliver(broker.bootstrap_servers, Path(name), events, spy, seconds)
    finally:
        broker.stop()


async def _deliver(kafka: str, workdir: Path, events: int, spy: str | None, seconds: int) -> None:
    sink = _SinkProcess(workdir)
    store = SqliteStore(workdir / "notify.db")
    settings = NotifySettings(
        kafka_bootstrap_servers=kafka,
        data_dir=workdir,
        smtp_host="127.0.0.1",
        smtp_port=sink.port,
        dispatch_batch=2000,  # as bench/notify.py
    )
    processed = mailed = 0
    caught_up: tuple[int, float, float] | None = None
    spying: subprocess.Popen[bytes] | None = None
    try:
        async with running_service(definition(settings, store=store)):
            started = time.perf_counter()
            while processed < events or mailed < events:
                async with store.transaction() as uow:
                    processed = await uow.count(INBOX)
                mailed = sink.count
                if processed == events and caught_up is None:
                    caught_up = (mailed, time.perf_counter(), time.process_time())
                    spying = _spy(spy, seconds)
                await asyncio.sleep(0.05)
            wall, cpu = time.perf_counter(), time.process_time()
    finally:
        sink.stop()
        if spying is not None:
            spying.wait()
    assert caught_up is not None
    sent, behind = mailed - caught_up[0], caught_up[1] - started
    print(
        f"{events:,} events; consumer caught up in {behind:.1f}s, {caught_up[0]:,} mailed by"
        f" then ({caught_up[0] / behind:,.0f}/s); after:"
        f" {sent / (wall - caught_up[1]):,.0f} e-mails/s,"
        f" cpu {(cpu - caught_up[2]) / sent * 1e6:.0f} us/e-mail"
    )


def _spy(out: str | None, seconds: int) -> subprocess.Popen[bytes] | None:
    if out is None:
        return None
    command = ["py-spy", "record", "-p", str(os.getpid()), "-d", str(seconds), "-r", "250"]
    return subprocess.Popen([*command, "-f", "raw", "-o", out], stdout=subprocess.DEVNULL)


def main() -> None:
    os.environ.setdefault("IKM_ENV", "development")
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=15000)
    parser.add_argument("--spy")
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(run(args.events, args.spy, args.seconds))


if __name__ == "__main__":
    embedded_clients()
    main()
