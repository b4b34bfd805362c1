"""Registry benchmarks: HTTP registrations/s on one uvicorn process, bulk import rows/s.

The registry runs as a real process (asyncio loop + httptools, SQLite, the embedded Kafka), exactly
as ``uvicorn services.registry.main:create_app --factory`` starts it. Load comes from ``wrk``
when it is installed (a C load generator, so the client is not what is measured; a Lua script
gives every request a fresh NIB); otherwise from several client processes of concurrent httpx
clients, which on a small machine saturate before the server does. Either way the figures
are checked afterwards: every registration counted must be stored and published to Kafka.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer, TopicPartition

from bench._enterprises import enterprise_import_rows, json_body
from bench._httpx_load import client_load, httpx_load
from bench._import_handler import handler_seconds
from bench._wrk import (
    WRK_CONNECTIONS,
    WRK_SECONDS,
    LoadResult,
    open_loop_load,
    wrk_load,
)
from bench.common import Figure, cpu_seconds
from contracts.registry import ENTERPRISE_TOPIC
from ikm_cli.launcher import KEEP_ALIVE_SECONDS
from ikmdev.infra import free_port
from ikmkit.auth import issue_token
from ikmkit.service.settings import DEV_JWT_SECRET
from ikmkit.store.sqlite import SqliteStore
from services.registry.main import definition
from services.registry.settings import RegistrySettings
from tests.support.service import auth_headers, running_service

IMPORT_TARGET = 15_000
"""Issue #14: enterprise import over HTTP, rows per second end to end."""
CSV_ROWS = 100_000
IMPORT_BATCH = 1000
HTTP_TARGET = 3_000.0
OPEN_LOOP_RATE = 1_000.0
OPEN_LOOP_SECONDS = 5.0
OPEN_LOOP_P99_MS = 50.0
# The event loop the service processes run on (uvicorn --loop): asyncio, as the image and
# `ikm dev up` run them; BENCH_LOOP=uvloop (with uvloop installed) shows its tail.
LOOP = os.environ.get("BENCH_LOOP", "asyncio")


def server_command(app: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", app, "--factory",
        "--port", str(port), "--loop", LOOP, "--http", "httptools", "--no-access-log",
        "--log-level", "warning", "--timeout-keep-alive", str(KEEP_ALIVE_SECONDS),
    ]  # fmt: skip


def start_service(
    app: str, kafka: str, workdir: Path, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """``uvicorn <app> --factory`` as its own process (``LOOP``, httptools, the services'
    keep-alive); its URL once ready."""
    port = free_port()
    name = app.split(":", maxsplit=1)[0].split(".")[1].strip("_")
    environment = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "IKM_DATA_DIR": str(workdir / "data"),
        "IKM_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    log = (workdir / f"{name}.log").open("ab")
    process = subprocess.Popen(
        server_command(app, port), env=environment, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"{name} did not become ready; see {workdir / f'{name}.log'}")


PEER_APP = "bench._crud_peer:create_app"


def _start_registry(kafka: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    return start_service("services.registry.main:create_app", kafka, workdir)


def _wait_for_outbox(url: str, timeout: float = 120) -> float:
    """Seconds until the relay has published everything (outbox backlog 0)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        checks = httpx.get(f"{url}/readyz", timeout=5).json()["checks"]
        if checks.get("outbox_backlog") == 0:
            break
        time.sleep(0.2)
    return time.perf_counter() - started


# --- checks: what was counted was really stored and published -----------------------------


def _stored_enterprises(url: str, token: str) -> int:
    response = httpx.get(f"{url}/stats", headers={"Authorization": f"Bearer {token}"}, timeout=60)
    response.raise_for_status()
    return int(response.json()["enterprises_total"])


async def _published_nibs(kafka: str, topic: str, tags: tuple[str, ...]) -> set[str]:
    """NIBs starting with one of ``tags`` whose events are in ``topic``.

    Read from the topic itself, not from offsets: the embedded broker's end offsets are not
    exact enough to count messages by.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        await consumer.topics()
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        nibs: set[str] = set()
        idle_since = time.monotonic()
        while time.monotonic() - idle_since < 2:  # the whole topic read: 2 s without news
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            for records in batches.values():
                idle_since = time.monotonic()
                nibs.update(
                    key for r in records if r.key and (key := r.key.decode()).startswith(tags)
                )
        return nibs
    finally:
        await consumer.stop()


def bench_http(kafka: str, workdir: Path) -> list[Figure]:
    """wrk against the registry and, in the same run, against the typical CRUD peer."""
    process, url = _start_registry(kafka, workdir)
    peer, peer_url = start_service(PEER_APP, kafka, workdir)
    token = issue_token(DEV_JWT_SECRET, subject="bench", role="ministry")
    use_wrk = shutil.which("wrk") is not None
    run = f"{random.randrange(1000):03d}"  # NIBs of this run start with 7<run> or 8<run>
    warm_up, measured = f"7{run}", f"8{run}"
    try:
        _warm_up(url, token, warm_up, use_wrk, workdir)
        _warm_up(peer_url, token, warm_up, use_wrk, workdir)
        peer_before = _peer_stored(peer_url)
        # The peer first: the registry's relay drains after its load, not during the peer's.
        peer_cpu = cpu_seconds(peer.pid)
        peer_load = _measured_load(peer_url, token, measured, use_wrk, workdir)
        peer_cpu = cpu_seconds(peer.pid) - peer_cpu
        peer_stored = _peer_stored(peer_url) - peer_before
        stored_before = _stored_enterprises(url, token)
        cpu = cpu_seconds(process.pid)
        load = _measured_load(url, token, measured, use_wrk, workdir)
        drain = _wait_for_outbox(url)
        cpu = cpu_seconds(process.pid) - cpu  # the relay's drain included
        stored = _stored_enterprises(url, token) - stored_before
        rate, seconds = OPEN_LOOP_RATE, OPEN_LOOP_SECONDS
        open_loop = [open_loop_load(u, token, f"9{run}", rate, seconds) for u in (url, peer_url)]
    finally:
        for each in (process, peer):
            each.terminate()
            each.wait(timeout=15)
    published = len(asyncio.run(_published_nibs(kafka, ENTERPRISE_TOPIC, (measured,))))
    for who, each, count in (("registry", load, stored), ("CRUD peer", peer_load, peer_stored)):
        print(
            f"{who} HTTP load generator: {each.generator}; {each.requests} requests in"
            f" {each.seconds:.1f}s, {each.failures} failed; {count} stored;"
            f" latency ms {each.latency_ms}"
        )
    print(f"registry: {published} of {stored} published to Kafka")
    # wrk stops counting at its deadline with up to one request per connection in flight;
    # the server may still store those, and those that got no answer (socket errors).
    in_flight = (WRK_CONNECTIONS if use_wrk else 0) + load.unanswered
    figures = _http_figures(load, stored, published, drain, in_flight)
    cpu_ms = (cpu * 1000 / stored, peer_cpu * 1000 / peer_stored)
    peer_in_flight = (WRK_CONNECTIONS if use_wrk else 0) + peer_load.unanswered
    figures += _peer_figures(load, peer_load, peer_stored, peer_in_flight, cpu_ms)
    return figures + _open_loop_figures(*open_loop)


def _open_loop_figures(
    registry: tuple[float, float, int], peer: tuple[float, float, int]
) -> list[Figure]:
    name = f"open loop {OPEN_LOOP_RATE:,.0f} req/s"
    return [
        Figure("registry", f"HTTP registration {name}, p50", registry[0], "ms"),
        Figure("registry", f"HTTP registration {name}, p99", registry[1], "ms",
               target=f"< {OPEN_LOOP_P99_MS:.0f} ms, 0 failed",
               met=registry[1] < OPEN_LOOP_P99_MS and registry[2] == 0),
        Figure("registry", f"typical CRUD peer {name}, p50", peer[0], "ms"),
        Figure("registry", f"typical CRUD peer {name}, p99", peer[1], "ms"),
    ]  # fmt: skip


def _peer_stored(url: str) -> int:
    return int(httpx.get(f"{url}/readyz", timeout=60).json()["enterprises_total"])


def _warm_up(url: str, token: str, tag: str, use_wrk: bool, workdir: Path) -> None:
    if use_wrk:
        wrk_load(url, json_body(7, tag), token, tag, 3, workdir)
    else:
        asyncio.run(client_load(url, token, 0, 500, tag))


def _measured_load(url: str, token: str, tag: str, use_wrk: bool, workdir: Path) -> LoadResult:
    if use_wrk:
        return wrk_load(url, json_body(7, tag), token, tag, WRK_SECONDS, workdir)
    return httpx_load(url, token, tag)


def _rate(load: LoadResult) -> float:
    return (load.requests - load.failures) / load.seconds


def _http_figures(
    load: LoadResult, stored: int, published: int, drain: float, in_flight: int
) -> list[Figure]:
    succeeded = load.requests - load.failures
    rate = _rate(load)
    real = succeeded <= stored <= succeeded + in_flight
    p50, p99 = load.latency_ms.get("p50"), load.latency_ms.get("p99")
    figures = [
        Figure(
            "registry", f"HTTP registrations (1 process, SQLite; {load.generator})", rate, "req/s",
            target=f">= {HTTP_TARGET:,.0f} req/s", met=rate >= HTTP_TARGET,
        ),
        Figure("registry", "failed registrations (non-2xx, socket errors)", load.failures,
               "requests", target="0", met=load.failures == 0),
        Figure("registry", "registrations counted / stored", succeeded, f"/ {stored} stored",
               target="stored = counted (+ in flight)", met=real),
        Figure("registry", "registrations published to Kafka", published,
               f"/ {stored} stored", target="all", met=published == stored),
        Figure("registry", "outbox drained to Kafka after load", drain, "s"),
    ]  # fmt: skip
    if p50 is not None and p99 is not None:
        figures += [
            Figure("registry", "HTTP registration latency p50", p50, "ms"),
            Figure("registry", "HTTP registration latency p99", p99, "ms"),
            Figure("registry", "HTTP registration p99 / p50", p99 / p50, "x",
                   target="< 4 (no stalls)", met=p99 < 4 * p50),
        ]  # fmt: skip
    return figures


def _peer_figures(
    load: LoadResult,
    peer: LoadResult,
    peer_stored: int,
    in_flight: int,
    cpu_ms: tuple[float, float],
) -> list[Figure]:
    """The typical CRUD peer beside the registry (same run, same wrk script and document),
    and the server CPU per request of each (the figure the machine's other load barely moves)."""
    succeeded = peer.requests - peer.failures
    real = succeeded <= peer_stored <= succeeded + in_flight and peer.failures == 0
    ratio = _rate(load) / _rate(peer)
    figures = [
        Figure("registry", "typical CRUD peer (FastAPI + SQLite commit, no outbox)", _rate(peer),
               "req/s", target="stored = counted, 0 failed", met=real),
        Figure("registry", "registry / CRUD peer throughput", ratio, "x",
               target=">= 1 (as fast as the peer)", met=ratio >= 1),
    ]  # fmt: skip
    figures += [
        Figure("registry", f"typical CRUD peer latency {name}", peer.latency_ms[name], "ms")
        for name in ("p50", "p99")
        if name in peer.latency_ms
    ]
    figures.append(
        Figure("registry", "server CPU per registration (relay included)", cpu_ms[0], "ms")
    )
    figures.append(Figure("registry", "server CPU per CRUD peer request", cpu_ms[1], "ms"))
    return figures


async def _import_all(client: httpx.AsyncClient, rows: list[dict[str, object]]) -> dict[str, int]:
    """Every row through ``POST /enterprises/import``, ``IMPORT_BATCH`` at a time (as the CLI)."""
    totals = {"rows": 0, "imported": 0, "existing": 0, "rejected": 0}
    for start in range(0, len(rows), IMPORT_BATCH):
        batch = rows[start : start + IMPORT_BATCH]
        response = await client.post(
            "/enterprises/import", json={"rows": batch}, headers=auth_headers("ministry")
        )
        response.raise_for_status()
        for key in totals:
            totals[key] += response.json()[key]
    return totals


async def bench_import(kafka: str, workdir: Path) -> list[Figure]:
    rows = enterprise_import_rows(CSV_ROWS, bad_every=100)
    settings = RegistrySettings(kafka_bootstrap_servers=kafka)
    store = SqliteStore(workdir / "import.db")
    async with running_service(definition(settings, store=store)) as registry:
        started = time.perf_counter()
        report = await _import_all(registry.client, rows)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = await _import_all(registry.client, rows)
        second = time.perf_counter() - started
    assert again["imported"] == 0, "re-importing the same file must change nothing"
    alone = await handler_seconds(rows, IMPORT_BATCH, workdir / "import-handler.db")
    return [
        Figure(
            "registry",
            f"CSV import over HTTP, {CSV_ROWS:,} rows (1% invalid; stored, relay publishing)",
            CSV_ROWS / first,
            "rows/s",
            target=f">= {IMPORT_TARGET:,} rows/s",
            met=CSV_ROWS / first >= IMPORT_TARGET,
        ),
        Figure("registry", "CSV import, the handler alone (no HTTP)", CSV_ROWS / alone, "rows/s"),
        Figure("registry", "CSV import total time", first, "s", target="minutes, not hours"),
        Figure("registry", "CSV re-import (no-op) rate", CSV_ROWS / second, "rows/s"),
        Figure(
            "registry",
            "CSV rows imported / rejected",
            report["imported"],
            f"/ {report['rejected']}",
        ),
    ]


async def run(kafka: str, workdir: Path) -> list[Figure]:
    figures = await asyncio.to_thread(bench_http, kafka, workdir)
    return figures + await bench_import(kafka, workdir)
