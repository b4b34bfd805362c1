"""``make bench-scale``: the #SemuanyaAdaDisini campaign's 1.6 million enterprises, end to end.

Not part of ``make bench`` (the leading underscore keeps ``python -m bench`` from picking it
up) nor of CI: at full size it runs for a long time. ``SCALE_ENTERPRISES`` sets the size
(default 1,600,000) so it can be tried small; ``SCALE_CONCURRENCY`` the requests in flight.

1. The five services as real processes (as ``ikm dev up``), SQLite in a scratch directory,
   the resolved broker (embedded Tansu here, topics in memory).
2. Import: the bench's deterministic rows (``bench._enterprises``), 1,000 per
   ``POST /enterprises/import``, a few requests in flight, as ``ikm registry import`` sends.
3. Caught up: the registry's outbox drained; every consumer group's committed offsets at the
   end offsets (lag 0); notify's e-mails all received by an SMTP sink.
4. Correctness: every row stored once (registry count = N), every event published once
   (records = distinct NIBs = N on the enterprise topic), each consumer's replica (subsidy,
   training, insights) and notify's owner e-mails = N, e-mails received = N.
5. Peak RSS of each service (kernel high-water mark) against 300 MB; the broker's beside it.
6. ``ikm audit replay`` of the whole log against the outboxes, then ``ikm audit rebuild
   subsidy`` (the enterprise replica rebuilt from the log and diffed with the live store).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from bench._enterprises import enterprise_row, import_row
from bench._scale_stack import (
    CONSUMER_GROUPS,
    Published,
    Stack,
    consumer_lag,
    count_rows,
    published_counts,
    run_cli,
)
from bench.common import Figure
from contracts.registry import ENTERPRISE_TOPIC
from ikmdev.infra import resolve_kafka
from ikmkit.auth import issue_token
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.messaging.progress import ConsumerLagProbe
from ikmkit.service.settings import DEV_JWT_SECRET

ENTERPRISES = int(os.environ.get("SCALE_ENTERPRISES", "1600000"))
CONCURRENCY = int(os.environ.get("SCALE_CONCURRENCY", "3"))
BATCH = 1000
PREFIX = 5  # NIBs 5000000000000 + i: apart from every other bench's
RSS_TARGET_MB = 300.0
REBUILT = "subsidy"
# Generous bounds (s) per phase, so a stuck run ends with a message instead of hanging.
CATCH_UP_LIMIT = float(os.environ.get("SCALE_CATCH_UP_LIMIT", str(600 + ENTERPRISES / 200)))
CLI_LIMIT = float(os.environ.get("SCALE_CLI_LIMIT", str(300 + ENTERPRISES / 500)))
NAME = "scale"

console = Console(width=int(os.environ.get("COLUMNS", "120")))


def _batch(start: int) -> bytes:
    rows = [
        import_row(enterprise_row(i, PREFIX)) for i in range(start, min(start + BATCH, ENTERPRISES))
    ]
    return json.dumps({"rows": rows}).encode()


async def _import(url: str) -> dict[str, int]:
    """Every row through ``POST /enterprises/import``, ``CONCURRENCY`` requests in flight."""
    token = issue_token(DEV_JWT_SECRET, subject="bench-scale", role="ministry")
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    totals = {"rows": 0, "imported": 0, "existing": 0, "rejected": 0}
    starts = iter(range(0, ENTERPRISES, BATCH))
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300) as client:

        async def worker() -> None:
            for start in starts:
                response = await client.post("/enterprises/import", content=_batch(start))
                response.raise_for_status()
                answer = response.json()
                for key in totals:
                    totals[key] += answer[key]

        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return totals


async def _caught_up(stack: Stack, started: float) -> dict[str, float]:
    """Seconds from the import's start until: the outbox drained, each group's lag 0, every
    e-mail received. Raises when the bound passes first."""
    reached: dict[str, float] = {}
    probe = ConsumerLagProbe(stack.kafka.bootstrap_servers, client_id="bench-scale")
    await probe.start()
    try:
        async with httpx.AsyncClient(base_url=stack.url("registry"), timeout=30) as registry:
            await _watch(stack, started, registry, probe, reached)
    finally:
        await probe.stop()
    return reached


async def _watch(
    stack: Stack,
    started: float,
    registry: httpx.AsyncClient,
    probe: ConsumerLagProbe,
    reached: dict[str, float],
) -> None:
    wanted = {"outbox drained", *CONSUMER_GROUPS, "e-mails received"}
    while wanted - reached.keys():
        now = time.perf_counter() - started
        if now > CATCH_UP_LIMIT:
            raise TimeoutError(f"not caught up after {now:.0f}s: {wanted - reached.keys()}")
        checks = (await registry.get("/readyz")).json()["checks"]
        if checks.get("outbox_backlog") == 0:
            reached.setdefault("outbox drained", now)
        if "outbox drained" in reached:
            # A group is caught up from the last time its lag became 0 (insights
            # lags again while notify's delivery events keep coming).
            for group, lag in (await consumer_lag(probe, CONSUMER_GROUPS)).items():
                if lag == 0:
                    reached.setdefault(group, now)
                else:
                    reached.pop(group, None)
        if stack.delivered() >= ENTERPRISES:
            reached.setdefault("e-mails received", now)
        await asyncio.sleep(1)


def _stored(stack: Stack) -> dict[str, int]:
    data = stack.data_dir
    return {
        "registry enterprises": count_rows(data / "registry.db", "enterprises"),
        "registry outbox events": count_rows(data / "registry.db", "outbox"),
        "subsidy enterprise replica": count_rows(data / "subsidy.db", "enterprises"),
        "training enterprise replica": count_rows(data / "training.db", "enterprise_replica"),
        "insights enterprise replica": count_rows(data / "insights.db", "enterprise_replica"),
        "notify owner e-mails": count_rows(
            data / "notify.db", "notifications", "json_extract(doc, '$.channel') = 'email'"
        ),
    }


def _cli_env(stack: Stack) -> dict[str, str]:
    return {**stack.env, "IKM_DATA_DIR": str(stack.data_dir)}


def _replay(stack: Stack) -> list[Figure]:
    report = stack.workdir / "audit-report.json"
    stores = [arg for name in ("registry", *CONSUMER_GROUPS) for arg in ("--store", name)]
    args = ["audit", "replay", "--kafka", stack.kafka.bootstrap_servers, *stores]
    seconds, rss = run_cli(
        [*args, "--report", str(report)], _cli_env(stack), stack.workdir / "replay.log", CLI_LIMIT
    )
    totals = json.loads(report.read_text())["totals"]
    return [
        Figure(NAME, f"ikm audit replay: {totals['read']:,} events, wall clock", seconds, "s"),
        Figure(NAME, "ikm audit replay rate (CLI start incl.)", totals["read"] / seconds,
               "events/s"),
        Figure(NAME, "ikm audit replay integrity errors", totals["errors"], "errors",
               target="0", met=totals["errors"] == 0),
        Figure(NAME, "ikm audit replay peak RSS (main process)", rss, "MB"),
    ]  # fmt: skip


def _rebuild(stack: Stack) -> list[Figure]:
    report = stack.workdir / "rebuild-report.json"
    args = [
        "audit",
        "rebuild",
        REBUILT,
        "--kafka",
        stack.kafka.bootstrap_servers,
        "--report",
        str(report),
    ]
    seconds, rss = run_cli(args, _cli_env(stack), stack.workdir / "rebuild.log", CLI_LIMIT)
    document = json.loads(report.read_text())
    replayed = document["events_replayed"]
    differences = len(document["differences"]) + len(document["stream_differences"])
    return [
        Figure(NAME, f"ikm audit rebuild {REBUILT}: {replayed:,} events, wall clock", seconds, "s"),
        Figure(NAME, f"ikm audit rebuild {REBUILT} rate (CLI start incl.)", replayed / seconds,
               "events/s"),
        Figure(NAME, f"ikm audit rebuild {REBUILT} differences", differences, "differences",
               target="0", met=differences == 0),
        Figure(NAME, f"ikm audit rebuild {REBUILT} peak RSS", rss, "MB"),
    ]  # fmt: skip


def _rss_figures(peaks: dict[str, float]) -> list[Figure]:
    figures = []
    for name, mb in peaks.items():
        service = not name.startswith("broker")
        figures.append(
            Figure(NAME, f"peak RSS {name}", mb, "MB",
                   target=f"< {RSS_TARGET_MB:.0f} MB" if service else "(not a service)",
                   met=mb < RSS_TARGET_MB if service else None)
        )  # fmt: skip
    return figures


def _flow_figures(
    totals: dict[str, int], imported: float, reached: dict[str, float]
) -> list[Figure]:
    n = ENTERPRISES
    last = max(reached.values())
    figures = [
        Figure(NAME, f"import over HTTP, {n:,} rows ({BATCH:,}/request, {CONCURRENCY} in flight)",
               imported, "s"),
        Figure(NAME, "import rate (rows stored, events in the outbox)", n / imported, "rows/s"),
        Figure(NAME, "rows imported / rejected / existing", totals["imported"],
               f"/ {totals['rejected']} / {totals['existing']}", target=f"{n:,} / 0 / 0",
               met=totals["imported"] == n and totals["rows"] == n),
    ]  # fmt: skip
    for what, at in sorted(reached.items(), key=lambda kv: kv[1]):
        label = (
            what if what in ("outbox drained", "e-mails received") else f"{what} caught up (lag 0)"
        )
        figures.append(Figure(NAME, f"{label}, since import start", at, "s"))
    figures.append(
        Figure(NAME, "end to end: import start -> all caught up", n / last, "enterprises/s")
    )
    return figures


def _count_figures(stored: dict[str, int], published: Published, delivered: int) -> list[Figure]:
    n = ENTERPRISES
    outbox = stored.pop("registry outbox events")
    figures = [Figure(NAME, f"stored: {what}", count, "rows", target=f"= {n:,}", met=count == n)
               for what, count in stored.items()]  # fmt: skip
    once = published.records == published.distinct == outbox
    figures += [
        Figure(NAME, "events on the enterprise topic / distinct ids", published.records,
               f"/ {published.distinct:,}", target=f"= {outbox:,} in the outbox", met=once),
        Figure(NAME, "EnterpriseRegistered events on the topic", published.registered, "events",
               target=f"= {n:,}", met=published.registered == n),
        Figure(NAME, "e-mails received by the SMTP sink", delivered, "mails",
               target=f"= {n:,}", met=delivered == n),
    ]  # fmt: skip
    return figures


async def _measure(stack: Stack) -> list[Figure]:
    kafka = stack.kafka.bootstrap_servers
    started = time.perf_counter()
    totals = await _import(stack.url("registry"))
    imported = time.perf_counter() - started
    console.print(f"imported {totals} in {imported:.1f}s; waiting for the consumers ...")
    reached = await _caught_up(stack, started)
    await asyncio.sleep(2)  # a late duplicate e-mail would show in the count
    peaks = stack.peak_rss()
    cpu = stack.cpu()
    delivered = stack.delivered()
    published = await published_counts(kafka, ENTERPRISE_TOPIC, str(PREFIX))
    stored = _stored(stack)
    events = stored["registry outbox events"]
    rate = Figure(NAME, "end to end: events / (import start -> all caught up)",
                  events / max(reached.values()), "events/s")  # fmt: skip
    return [
        *_flow_figures(totals, imported, reached),
        rate,
        *_count_figures(stored, published, delivered),
        *_rss_figures(peaks),
        *(Figure(NAME, f"CPU time used by {name}, start-up to caught up", seconds, "s")
          for name, seconds in cpu.items()),
    ]  # fmt: skip


def main() -> None:
    os.environ.setdefault("IKM_ENV", "development")
    kafka = resolve_kafka()
    figures: list[Figure] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
            workdir = os.environ.get("SCALE_WORKDIR") or scratch  # kept when given
            from contracts.catalog import all_topics

            asyncio.run(ensure_topics(kafka.bootstrap_servers, all_topics()))
            stack = Stack(kafka, Path(workdir))
            stack.workdir.mkdir(parents=True, exist_ok=True)
            try:
                stack.start()
                console.print(
                    f"[bold]bench scale[/]: {ENTERPRISES:,} enterprises, stack up in {workdir}"
                )
                figures += asyncio.run(_measure(stack))
            finally:
                stack.stop()
            console.print("services stopped; ikm audit replay ...")
            figures += _replay(stack)
            console.print(f"ikm audit rebuild {REBUILT} ...")
            figures += _rebuild(stack)
            broker = kafka.embedded
            if broker is not None and broker.pid is not None:
                peak = stack.peak_rss().get("broker (Tansu)", 0.0)
                figures += _rss_figures({"broker (Tansu), whole run incl. audit": peak})
    finally:
        kafka.stop()
        _print(figures, kafka.kind)


def _print(figures: list[Figure], kind: str) -> None:
    table = Table(title=f"IKM scale bench: {ENTERPRISES:,} enterprises (Kafka: {kind})")
    for column in ("figure", "value", "target", "met"):
        table.add_column(column)
    for f in figures:
        met = "" if f.met is None else ("yes" if f.met else "NO")
        table.add_row(f.name, f.formatted(), f.target or "", met)
    console.print(table)


if __name__ == "__main__":
    main()
