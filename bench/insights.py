"""Insights benchmarks: the consumers against raw Kafka consumption, and the national
dashboard with 1.6 million enterprises in the projections.

1. **Consumers.** A mix of domain events (enterprise registrations, verifications, e-Smart
   onboardings and class changes; partners; MoUs, most of them link-and-match; course
   schedules and enrollments; subsidy applications, approvals and disbursements), built with
   the contract models and enveloped as the outbox relay does (CloudEvents headers, a
   sequence and hash chain per aggregate, key = aggregate id), is put on the seven topics
   insights follows. Then, in the same run: a bare aiokafka consumer reads every record of
   those topics (best of three), and the real insights service (``definition()``: the
   ``EventConsumer`` with its handlers in batch mode, as ``main.py`` wires it, on SQLite)
   counts them. Rates are taken between the first and the last observation, as in
   ``bench/notify.py``; on a private broker, so exactly these events are on the topics. The
   CPU time per event of each phase is printed too (steadier than rates on a shared machine).

2. **National dashboard.** ``enterprise_projection`` writes what the handlers would write
   for 1.6 million enterprises (registered, 85% verified, 20% onboarded to a marketplace,
   60% in the #SemuanyaAdaDisini campaign, over 2023-01..2026-11 in every regency): the
   ``counts`` cells (the handlers' own ``Cell`` documents, each value summed over the
   enterprises counted in it, per indicator and dimension at once with numpy) and one
   ``enterprise_replica`` document per enterprise, inserted in large batches. A sample of
   the same enterprises is first fed as events through the real handler path
   (``events.count_events``) on a separate store and both collections compared: the bench
   stops if they differ. Then the insights app (in-process ASGI, the real routers and
   store, no consumer) gets the exact calls the national page makes (``dashboard.js``:
   ``/indicators`` first, then every card, breakdown, the province table and the targets
   at once, one request per distinct URL), page view after page view; p95 over the calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import random
import statistics
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from lokal.provinces import PROVINCES

from bench._insights_enterprises import (
    Enterprises,
    Envelopes,
    check_against_handlers,
    write_projection,
)
from bench._insights_mix import event_mix
from bench.common import Figure
from ikmdev.infra import EmbeddedKafka
from ikmkit.messaging.inbox import INBOX
from ikmkit.messaging.kafka_topics import ensure_topics
from ikmkit.store import CollectionSpec
from ikmkit.store.sqlite import SqliteStore
from services.insights.handlers import events as insight_events
from services.insights.main import definition
from services.insights.settings import InsightsSettings
from services.insights.store import COLLECTIONS
from tests.support.service import auth_headers, running_service

TARGET_RATIO = 0.25
RAW_RUNS = 3
DASHBOARD_ENTERPRISES = 1_600_000
SAMPLE = 3_000  # enterprises checked against the handler path
PAGE_VIEWS = 20
P95_TARGET_MS = 300.0


async def _publish(kafka: str, records: Sequence[tuple[str, bytes, bytes, list[Any]]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka, enable_idempotence=False, linger_ms=5, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        futures = []
        for topic, key, value, headers in records:
            futures.append(await producer.send(topic, value, key=key, headers=headers))
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def _raw_rate(kafka: str, topics: Sequence[str], count: int) -> float:
    """Events/s of a bare aiokafka consumer reading the topics from the start."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka, enable_auto_commit=False)
    await consumer.start()
    try:
        assigned = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        consumer.assign(assigned)
        await consumer.seek_to_beginning()
        seen, first_at = 0, 0.0
        while seen < count:
            batches = await consumer.getmany(timeout_ms=1000, max_records=5000)
            got = sum(len(records) for records in batches.values())
            if got and not first_at:
                first_at, seen = time.perf_counter(), 0  # the first fetch starts the clock
            seen += got
        return count / (time.perf_counter() - first_at)
    finally:
        await consumer.stop()


async def _insights_rate(kafka: str, workdir: Path, count: int) -> float:
    store = SqliteStore(workdir / "insights-flow.db")
    settings = InsightsSettings(kafka_bootstrap_servers=kafka, data_dir=workdir)
    first: tuple[float, int] | None = None
    last: tuple[float, int] = (0.0, 0)
    async with running_service(definition(settings, store=store)):
        deadline = time.monotonic() + 300
        processed = 0
        while processed < count and time.monotonic() < deadline:
            async with store.transaction() as uow:
                processed = await uow.count(INBOX)
            now = time.perf_counter()
            if processed and first is None:
                first = (now, processed)
            if processed > last[1]:
                last = (now, processed)
            await asyncio.sleep(0.05)
    if processed != count or first is None:  # the inbox holds each event exactly once
        raise RuntimeError(f"insights: {processed} of {count} processed")
    return (last[1] - first[1]) / (last[0] - first[0])


# ---------------------------------------------------------------- the dashboard


def national_page_calls(catalog: list[dict[str, Any]]) -> list[tuple[str, dict[str, str]]]:
    """The API calls ``dashboard.js`` makes for the national page after ``/indicators``
    (default fiscal year), one per distinct URL as the page deduplicates them."""
    headline = [
        "enterprises.registered", "enterprises.verified", "linkmatch.smk",
        "linkmatch.companies", "linkmatch.agreements", "webinars.held",
        "webinars.participants", "esmart.onboarded", "campaigns.participants",
        "subsidy.reserved_rupiah", "subsidy.disbursed_rupiah",
    ]  # fmt: skip
    table = [
        "enterprises.registered", "esmart.onboarded", "linkmatch.agreements",
        "webinars.participants", "subsidy.disbursed_rupiah",
    ]  # fmt: skip
    # renderCards, then renderTrends (the same URLs: already requested)
    calls = [(f"/indicators/{i}", {"by": "month"}) for i in headline]
    with_country = [d for d in catalog if "country" in (d.get("dimensions") or [])]
    preferred = [
        d
        for d in with_country
        if any(w in d["id"] for w in ("ksst", "international", "foreign", "countr"))
    ]
    country = (preferred or with_country or [None])[0]
    calls.append(("/indicators/esmart.onboarded", {"by": "dimension"}))
    calls.append(("/indicators/partners.registered", {"by": "dimension"}))
    if country is not None:
        params = {"by": "dimension"}
        if len(country.get("dimensions") or []) > 1:
            params["dimension"] = "country"
        calls.append((f"/indicators/{country['id']}", params))
    calls.append(("/provinces", {"indicators": ",".join(table)}))
    calls.append(("/progress", {}))
    return calls


async def _set_targets(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    """Each province's 2026 target for the table's indicators (what officers set)."""
    indicators = ("enterprises.registered", "esmart.onboarded", "linkmatch.agreements")
    n = 0
    for indicator in indicators:
        for province in sorted(PROVINCES):
            body = {
                "indicator": indicator,
                "province": province,
                "fiscal_year": 2026,
                "value": 5000,
            }
            response = await client.post("/targets", json=body, headers=headers)
            response.raise_for_status()
            n += 1
    return n


async def _page_views(
    client: httpx.AsyncClient, headers: dict[str, str], views: int
) -> tuple[list[float], list[float], int]:
    """Latencies (ms) of every call, and of every whole page (first call to last answer)."""
    calls: list[float] = []
    pages: list[float] = []
    per_page = 0

    async def get(path: str, params: dict[str, str]) -> Any:
        started = time.perf_counter()
        response = await client.get(path, params=params, headers=headers)
        calls.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
        return response.json()

    for _ in range(views):
        started = time.perf_counter()
        catalog = (await get("/indicators", {}))["items"]
        todo = national_page_calls(catalog)
        await asyncio.gather(*(get(path, params) for path, params in todo))
        pages.append((time.perf_counter() - started) * 1000)
        per_page = 1 + len(todo)
    return calls, pages, per_page


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


async def _dashboard(kafka: str, workdir: Path) -> list[Figure]:
    started = time.perf_counter()
    e = Enterprises.generate(DASHBOARD_ENTERPRISES)
    checked = await check_against_handlers(e.head(SAMPLE))
    path = workdir / "insights-dashboard.db"
    # bulk load first, indexes after (one pass each, as the service's start creates them);
    # the cells go straight into their counter table (keyed by the cell, no index besides)
    store = SqliteStore(path)
    await store.open([CollectionSpec(spec.name, counter=spec.counter) for spec in COLLECTIONS])
    cells = await write_projection(store, e)
    await store.close()
    store = SqliteStore(path)
    await store.open(COLLECTIONS)
    await store.close()
    generated = time.perf_counter() - started

    settings = InsightsSettings(kafka_bootstrap_servers=kafka, data_dir=workdir)
    served = dataclasses.replace(definition(settings, store=SqliteStore(path)), consumers=[])
    headers = auth_headers("ministry")
    async with running_service(served) as service:
        client = service.client
        await _set_targets(client, headers)
        await _page_views(client, headers, 2)  # warm-up: caches and the first plans
        calls, pages, per_page = await _page_views(client, headers, PAGE_VIEWS)
    p95 = _p95(calls)
    return [
        Figure("insights", f"generator: {len(e):,} enterprises ({cells:,} count cells, "
               f"sample of {SAMPLE:,} = handler path, {checked:,} docs)", generated, "s"),
        Figure("insights", f"national page: {per_page} API calls, page p95", _p95(pages), "ms"),
        Figure("insights", f"national dashboard API p95 ({len(calls)} calls, {PAGE_VIEWS} views)",
               p95, "ms", target=f"< {P95_TARGET_MS:.0f} ms", met=p95 < P95_TARGET_MS),
    ]  # fmt: skip


# ---------------------------------------------------------------- run


async def _consumers(workdir: Path) -> list[Figure]:
    events = event_mix(random.Random(13))
    feed = Envelopes()
    records = [feed.record(event) for event in events]
    topics = sorted(insight_events.TOPICS)
    mix = Counter(type(ev).__name__ for ev in events)
    broker = EmbeddedKafka().start()
    try:
        servers = broker.bootstrap_servers
        await ensure_topics(servers, topics, partitions=3)
        await _publish(servers, records)
        cpu = time.process_time()
        raws = [await _raw_rate(servers, topics, len(records)) for _ in range(RAW_RUNS)]
        raw_cpu, cpu = (time.process_time() - cpu) / RAW_RUNS, time.process_time()
        insights = await _insights_rate(servers, workdir, len(records))
        insights_cpu = time.process_time() - cpu
    finally:
        with contextlib.suppress(Exception):
            broker.stop()
    raw = max(raws)
    runs = ", ".join(f"{r:,.0f}" for r in raws)
    ratio = insights / raw
    kinds = len(mix)
    return [
        Figure("insights", f"raw aiokafka consume of {len(topics)} topics, best of {RAW_RUNS} "
               f"({runs})", raw, "events/s"),
        Figure("insights", f"events -> insights projections ({len(records):,} events, "
               f"{kinds} types)", insights, "events/s"),
        Figure("insights", "consumers / raw consume", ratio * 100, "% of raw",
               target=f">= {TARGET_RATIO:.0%}", met=ratio >= TARGET_RATIO),
        Figure("insights", "diagnostic: CPU time per event, raw consume / insights",
               raw_cpu / len(records) * 1e6, f"us / {insights_cpu / len(records) * 1e6:,.1f} us"),
    ]  # fmt: skip


async def run(kafka: str, workdir: Path) -> list[Figure]:
    started = time.perf_counter()
    figures = await _consumers(workdir)
    figures += await _dashboard(kafka, workdir)
    figures.append(Figure("insights", "whole insights bench", time.perf_counter() - started, "s"))
    return figures
