"""What the notify service costs when nothing happens: CPU of its process and of the
embedded broker over a quiet interval (the price of short fetch waits: each consumer asks the
broker every ``fetch_max_wait_ms`` when there is nothing to read).

    python -m bench._idle_cpu [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bench.common import cpu_seconds, embedded_clients
from ikmdev.infra import EmbeddedKafka
from ikmkit.store.sqlite import SqliteStore
from services.notify.main import definition
from services.notify.settings import NotifySettings
from tests.support.service import running_service


async def run(seconds: float) -> None:
    broker = EmbeddedKafka().start()
    try:
        with tempfile.TemporaryDirectory() as name:
            workdir = Path(name)
            settings = NotifySettings(kafka_bootstrap_servers=broker.bootstrap_servers,
                                      data_dir=workdir)  # fmt: skip
            store = SqliteStore(workdir / "notify.db")
            async with running_service(definition(settings, store=store)):
                await asyncio.sleep(3)  # joined, assigned, settled
                assert broker.pid is not None
                mine, theirs = time.process_time(), cpu_seconds(broker.pid)
                await asyncio.sleep(seconds)
                mine, theirs = time.process_time() - mine, cpu_seconds(broker.pid) - theirs
    finally:
        broker.stop()
    print(f"idle {seconds:.0f} s: notify {mine / seconds:.1%} of a core,"
          f" broker {theirs / seconds:.1%} of a core")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    asyncio.run(run(parser.parse_args().seconds))


if __name__ == "__main__":
    embedded_clients()
    main()
