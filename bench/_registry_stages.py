"""CPU per registration by part, in process (session 23): ``python -m bench._registry_stages [N]``.

``bench._registry_alone``'s load (the registry's ASGI app, 64 registrations in flight, relay
and embedded Kafka on), with ``time.thread_time`` around the parts of a registration that
never suspend (the handler's steps, the outbox's), so each figure is that part's own work.
The timing itself costs a few µs a part and the machine's load inflates small parts most:
read the large parts' shares. The rest (HTTP plumbing, unit of work, group commit, relay,
garbage collection) is the total less the parts.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench._registry_alone import _load
from ikmdev.infra import resolve_kafka
from ikmkit.auth import issue_token
from ikmkit.messaging import outbox
from ikmkit.service.runtime import create_service_app
from ikmkit.service.settings import DEV_JWT_SECRET
from ikmkit.store import repository, sqlite_transaction
from ikmkit.store.sqlite import SqliteStore
from services.registry.domain import model
from services.registry.handlers import enterprises
from services.registry.main import definition
from services.registry.settings import RegistrySettings

SECONDS: defaultdict[str, float] = defaultdict(float)
CALLS: Counter[str] = Counter()
TIMING = [False]


def _timed(owner: Any, name: str, label: str) -> None:
    """Wrap ``owner.name`` (a function or coroutine function) to add its thread time."""
    found = getattr(owner, name)
    if asyncio.iscoroutinefunction(found):

        @functools.wraps(found)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            if not TIMING[0]:
                return await found(*args, **kwargs)
            started = time.thread_time()
            try:
                return await found(*args, **kwargs)
            finally:
                SECONDS[label] += time.thread_time() - started
                CALLS[label] += 1

        setattr(owner, name, timed_async)
        return

    @functools.wraps(found)
    def timed(*args: Any, **kwargs: Any) -> Any:
        if not TIMING[0]:
            return found(*args, **kwargs)
        started = time.thread_time()
        try:
            return found(*args, **kwargs)
        finally:
            SECONDS[label] += time.thread_time() - started
            CALLS[label] += 1

    setattr(owner, name, timed)


def _instrument() -> None:
    _timed(enterprises, "register_enterprise", "handler (all of it)")
    _timed(enterprises, "valid_facts", "  rules and the facts model")
    _timed(repository.Repository, "find_one", "  NIB looked up (SELECT)")
    _timed(repository.Repository, "add", "  enterprise stored (dump, JSON, INSERT)")
    register = model.Enterprise.register
    model.Enterprise.register = staticmethod(register)  # type: ignore[method-assign]
    _timed(model.Enterprise, "register", "  Enterprise.register (domain)")
    _timed(outbox.Outbox, "add_many", "outbox add_many (all of it)")
    _timed(sqlite_transaction.SqliteTransaction, "get_many", "  stream head SELECT")
    _timed(outbox.Outbox, "_stamp", "  stamp (payload, envelope, hash)")
    _timed(outbox.Outbox, "_save_heads", "  stream head INSERT")


async def measure(kafka: str, workdir: Path, count: int) -> None:
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    app = create_service_app(definition(settings, store=SqliteStore(workdir / "r.db")))
    token = issue_token(DEV_JWT_SECRET, subject="bench", role="ministry")
    async with app.router.lifespan_context(app):
        await _load(app, token, "7000", 500)  # warm up
        started, loop_started = time.process_time(), time.thread_time()
        TIMING[0] = True
        await _load(app, token, "8000", count)
        TIMING[0] = False
        await asyncio.sleep(0.5)  # the relay's share
        cpu, loop_cpu = time.process_time() - started, time.thread_time() - loop_started
    print(f"CPU per registration: {cpu / count * 1e6:.0f} µs ({loop_cpu / count * 1e6:.0f} µs"
          f" on the loop's thread); load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    for label, seconds in SECONDS.items():
        per = seconds / count * 1e6
        print(f"{label:42} {per:7.1f} µs  {per / (cpu / count * 1e6):6.1%}"
              f"  ({CALLS[label] / count:.1f} calls)")  # fmt: skip


def main() -> None:
    os.environ.setdefault("IKM_ENV", "development")
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    _instrument()
    kafka = resolve_kafka()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            asyncio.run(measure(kafka.bootstrap_servers, Path(workdir), count))
    finally:
        kafka.stop()


if __name__ == "__main__":
    main()
