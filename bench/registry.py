"""Registry benchmarks: HTTP registrations/s on one uvicorn process, CSV import rows/s.

The registry runs as a real process (uvloop + httptools, SQLite, the embedded Kafka), exactly
as ``uvicorn services.registry.main:create_app --factory`` starts it. Load comes from
several client processes, each with concurrent httpx clients, so the client is not what is
measured.
"""

from __future__ import annotations

import asyncio
import csv
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.common import Figure
from ikmkit.auth import issue_token
from ikmkit.infra import free_port
from ikmkit.outbox import OUTBOX_COLLECTIONS, Outbox
from ikmkit.settings import DEV_JWT_SECRET
from ikmkit.store.sqlite import SqliteStore
from services.registry import bulk
from services.registry.service import Ports
from services.registry.store import COLLECTIONS

REGISTRATIONS = 30_000
CLIENT_PROCESSES = 3
CONCURRENCY_PER_PROCESS = 32
CSV_ROWS = 100_000
HTTP_TARGET = 3_000.0

REGENCIES = ("3471", "3404", "3273", "1171", "3578", "7371")
KBLIS = ("10710", "14111", "16101", "25920", "29300", "31001")
CSV_COLUMNS = (
    "nib", "name", "legal_form", "owner_name", "owner_nik", "owner_phone", "owner_email",
    "province", "regency", "kbli", "workforce", "investment_rupiah", "products", "campaigns",
    "marketplace_stores",
)  # fmt: skip


def enterprise_row(i: int, prefix: int) -> dict[str, str]:
    regency = REGENCIES[i % len(REGENCIES)]
    return {
        "nib": f"{prefix}{i:012d}",
        "name": f"IKM Bench {i}",
        "legal_form": ("CV", "UD", "PT", "perorangan")[i % 4],
        "owner_name": f"Pemilik {i}",
        "owner_nik": "3471010105900001",
        "owner_phone": f"0812{i % 100_000_000:08d}",
        "owner_email": f"owner{i}@example.id",
        "province": regency[:2],
        "regency": regency,
        "kbli": KBLIS[i % len(KBLIS)],
        "workforce": str(i % 30),
        "investment_rupiah": str((i % 50) * 100_000_000),
        "products": "produk a;produk b",
        "campaigns": "#SemuanyaAdaDisini" if i % 3 == 0 else "",
        "marketplace_stores": f"shopee=https://shopee.co.id/ikm{i}" if i % 10 == 0 else "",
    }


def write_enterprise_csv(path: Path, rows: int, *, prefix: int = 9, bad_every: int = 0) -> None:
    """A CSV of ``rows`` enterprises; every ``bad_every``-th row has a non-manufacturing KBLI."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for i in range(rows):
            row = enterprise_row(i, prefix)
            if bad_every and i % bad_every == bad_every - 1:
                row["kbli"] = "47111"
            writer.writerow(row)


def _json_body(i: int, prefix: int) -> dict[str, object]:
    row = enterprise_row(i, prefix)
    return {
        **{k: row[k] for k in ("nib", "name", "legal_form", "owner_name", "owner_phone")},
        **{k: row[k] for k in ("owner_email", "province", "regency", "kbli")},
        "owner_nik": row["owner_nik"],
        "workforce": int(row["workforce"]),
        "investment_rupiah": int(row["investment_rupiah"]),
        "products": ["produk a"],
    }


async def _client_load(url: str, token: str, start: int, count: int, prefix: int) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=CONCURRENCY_PER_PROCESS)
    next_index = start
    failures = 0
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=30
    ) as client:

        async def worker() -> None:
            nonlocal next_index, failures
            while next_index < start + count:
                i = next_index
                next_index += 1
                response = await client.post("/enterprises", json=_json_body(i, prefix))
                failures += response.status_code != 201

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY_PER_PROCESS)))
    return failures


def _client_process(args: tuple[str, str, int, int, int]) -> int:
    return asyncio.run(_client_load(*args))


def _start_registry(kafka: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka,
        "IKM_DATA_DIR": str(workdir / "data"),
        "IKM_LOG_LEVEL": "WARNING",
    }
    log = (workdir / "registry.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "uvicorn", "services.registry.main:create_app", "--factory",
            "--port", str(port), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
            "--log-level", "warning",
        ],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
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
    raise RuntimeError(f"registry did not become ready; see {workdir / 'registry.log'}")


def _wait_for_outbox(url: str, token: str, timeout: float = 120) -> float:
    """Seconds until the relay has published everything (outbox backlog 0)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        checks = httpx.get(f"{url}/readyz", timeout=5).json()["checks"]
        if checks.get("outbox_backlog") == 0:
            break
        time.sleep(0.2)
    return time.perf_counter() - started


def bench_http(kafka: str, workdir: Path) -> list[Figure]:
    process, url = _start_registry(kafka, workdir)
    token = issue_token(DEV_JWT_SECRET, subject="bench", role="ministry")
    try:
        asyncio.run(_client_load(url, token, 0, 500, prefix=7))  # warm-up
        share = REGISTRATIONS // CLIENT_PROCESSES
        jobs = [(url, token, n * share, share, 8) for n in range(CLIENT_PROCESSES)]
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(CLIENT_PROCESSES) as pool:
            failures = sum(pool.map(_client_process, jobs))
        elapsed = time.perf_counter() - started
        drain = _wait_for_outbox(url, token)
    finally:
        process.terminate()
        process.wait(timeout=15)
    rate = (share * CLIENT_PROCESSES - failures) / elapsed
    return [
        Figure(
            "registry", "HTTP registrations (1 process, SQLite)", rate, "req/s",
            target=f">= {HTTP_TARGET:,.0f} req/s", met=rate >= HTTP_TARGET,
        ),
        Figure("registry", "failed registrations", failures, "requests"),
        Figure("registry", "outbox drained to Kafka after load", drain, "s"),
    ]  # fmt: skip


async def bench_import(workdir: Path) -> list[Figure]:
    path = workdir / "enterprises.csv"
    write_enterprise_csv(path, CSV_ROWS, bad_every=100)
    store = SqliteStore(workdir / "import.db")
    await store.open([*COLLECTIONS, *OUTBOX_COLLECTIONS])
    ports = Ports(store, Outbox("/ikm/registry"))
    try:
        started = time.perf_counter()
        with path.open(newline="") as handle:
            report = await bulk.import_enterprises(bulk.read_csv(handle), ports)
        first = time.perf_counter() - started
        started = time.perf_counter()
        with path.open(newline="") as handle:
            again = await bulk.import_enterprises(bulk.read_csv(handle), ports)
        second = time.perf_counter() - started
    finally:
        await store.close()
    assert again.imported == 0, "re-importing the same file must change nothing"
    return [
        Figure(
            "registry", f"CSV import, {CSV_ROWS:,} rows (1% invalid)", CSV_ROWS / first, "rows/s"
        ),
        Figure("registry", "CSV import total time", first, "s", target="minutes, not hours"),
        Figure("registry", "CSV re-import (no-op) rate", CSV_ROWS / second, "rows/s"),
        Figure(
            "registry", "CSV rows imported / rejected", report.imported, f"/ {report.rejected_rows}"
        ),
    ]


async def run(kafka: str, workdir: Path) -> list[Figure]:
    figures = await asyncio.to_thread(bench_http, kafka, workdir)
    return figures + await bench_import(workdir)
