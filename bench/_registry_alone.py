"""CPU per registration, in process: the registry's ASGI app driven without a server or client.

``python -m bench._registry_alone [N] [--profile]``: N ``POST /enterprises`` (default 3000), 64
at a time, straight into the app (the middlewares, routing, validation, unit of work, outbox
and the relay publishing to the embedded Kafka all run; uvicorn's HTTP parsing does not).
Prints CPU ms per registration (``time.process_time``, so the machine's other load does not
count); with ``--profile``, the cProfile of the run, timed by the process's CPU clock (also
written to ``/tmp/registry-alone.prof``).

``--ab R`` (session 21): R rounds in this one process, each running the registry with the
outbox and the enterprises stored as before session 21 (every field in the JSON document,
expression indexes: ``bench._registry_outbox``) and then as now (columns, partial indexes),
each on a fresh store; prints each layout's CPU per registration, interleaved alike.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._enterprises import json_body
from bench._registry_outbox import LAYOUTS, REGISTRY
from ikmdev.infra import resolve_kafka
from ikmkit.auth import issue_token
from ikmkit.service import runtime
from ikmkit.service.runtime import create_service_app
from ikmkit.service.settings import DEV_JWT_SECRET
from ikmkit.store.sqlite import SqliteStore
from services.registry import main as registry_main
from services.registry.main import definition
from services.registry.settings import RegistrySettings

CONCURRENCY = 64


def _scope(token: str, length: int) -> dict[str, Any]:
    headers = [
        (b"host", b"registry"),
        (b"content-type", b"application/json"),
        (b"content-length", str(length).encode()),
        (b"authorization", f"Bearer {token}".encode()),
    ]
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/enterprises", "raw_path": b"/enterprises",
        "query_string": b"", "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def _post(app: Any, token: str, body: bytes) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(token, len(body)), receive, send)
    return status


async def _load(app: Any, token: str, tag: str, count: int) -> None:
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            status = await _post(app, token, json.dumps(json_body(i, tag)).encode())
            assert status == 201, status

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def measure(kafka: str, workdir: Path, count: int, profile: bool) -> float:
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    app = create_service_app(definition(settings, store=SqliteStore(workdir / "r.db")))
    token = issue_token(DEV_JWT_SECRET, subject="bench", role="ministry")
    async with app.router.lifespan_context(app):
        await _load(app, token, "7000", 500)  # warm up
        profiler = cProfile.Profile(time.process_time)
        started, loop_started = time.process_time(), time.thread_time()
        if profile:
            profiler.enable()
        await _load(app, token, "8000", count)
        await asyncio.sleep(0.5)  # the relay's share: its passes after the last commit
        profiler.disable()
        cpu = time.process_time() - started
        loop_cpu = time.thread_time() - loop_started
    print(f"CPU per registration on the event loop's thread: {loop_cpu / count * 1000:.3f} ms")
    if profile:
        profiler.dump_stats("/tmp/registry-alone.prof")
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
    return cpu / count


async def alternate(kafka: str, workdir: Path, count: int, rounds: int) -> None:
    figures: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    for r in range(rounds):
        for name, specs in LAYOUTS.items():
            runtime.OUTBOX_COLLECTIONS = tuple(specs)  # what the runtime opens the store with
            registry_main.COLLECTIONS = tuple(REGISTRY[name])
            (workdir / f"{name}{r}").mkdir()
            figures[name].append(await measure(kafka, workdir / f"{name}{r}", count, False))
    for name, runs in figures.items():
        ms = ", ".join(f"{x * 1000:.3f}" for x in runs)
        print(f"{name:9} CPU per registration: {ms} ms (mean {sum(runs) / len(runs) * 1000:.3f})")


def main() -> None:
    os.environ.setdefault("IKM_ENV", "development")
    count = int(next((a for a in sys.argv[1:] if a.isdigit()), "3000"))
    kafka = resolve_kafka()
    if "--ab" in sys.argv:
        rounds = int(sys.argv[sys.argv.index("--ab") + 1])
        try:
            with tempfile.TemporaryDirectory() as workdir:
                asyncio.run(alternate(kafka.bootstrap_servers, Path(workdir), count, rounds))
        finally:
            kafka.stop()
        return
    try:
        with tempfile.TemporaryDirectory() as workdir:
            per = asyncio.run(measure(kafka.bootstrap_servers, Path(workdir), count,
                                      "--profile" in sys.argv))  # fmt: skip
        print(f"registrations: {count}; CPU per registration: {per * 1000:.3f} ms")
    finally:
        kafka.stop()


if __name__ == "__main__":
    main()
