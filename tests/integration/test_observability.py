"""Observability end to end: one trace registry -> Kafka -> notify, metrics, JSON logs, /readyz.

Both services run in-process on the real embedded broker. The global tracer
provider is installed once per process (``setup_tracing``), so the test adds an
in-memory exporter to it instead of replacing it; spans of both services then
share one provider (in production each process has its own, named after its
service), which is why the test tells the services apart by span kind, instrumentation
scope and consumer group rather than by ``service.name``.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from contracts.registry import ENTERPRISE_TOPIC
from ikmkit.messaging.kafka_topics import delete_topics, ensure_topics
from ikmkit.messaging.progress import ConsumerLagProbe
from ikmkit.telemetry.otel import setup_tracing
from services.notify.main import definition as notify_definition
from services.notify.settings import NotifySettings
from services.registry.main import definition as registry_definition
from services.registry.settings import RegistrySettings
from tests.conftest import make_store
from tests.support.service import RunningService, auth_headers, running_service
from tests.support.values import random_nib

# Personal data of the test enterprise's owner: none of it may reach a log line.
OWNER_NAME = "Sri Rahayuningsih Wibisono"
OWNER_EMAIL = "sri.rahayu.obs@example.id"
OWNER_PHONE = "081234567890"


def enterprise_body(nib: str) -> dict[str, Any]:
    return {
        "nib": nib,
        "name": f"CV Observasi {nib[-4:]}",
        "province": "34",
        "regency": "3471",
        "kbli": "29300",
        "workforce": 12,
        "investment_rupiah": 750_000_000,
        "owner_name": OWNER_NAME,
        "owner_email": OWNER_EMAIL,
        "owner_phone": OWNER_PHONE,
    }


async def eventually[T](probe: Callable[[], Any], accept: Callable[[T], bool], what: str) -> T:
    """Poll ``probe`` (sync or async) until ``accept`` holds; fail after a generous deadline."""
    deadline = time.monotonic() + 30
    while True:
        value = probe()
        if asyncio.iscoroutine(value):
            value = await value
        if accept(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}; last value: {value!r}")
        await asyncio.sleep(0.1)


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_tracing("registry").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # the processor stays on the global provider but stores nothing more


@pytest.fixture(scope="module")
async def services(
    kafka: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[RunningService, RunningService, io.StringIO]]:
    """Registry and notify on the real broker (SQLite stores), with their log output captured."""
    workdir: Path = tmp_path_factory.mktemp("observability")
    registry = registry_definition(
        RegistrySettings(kafka_bootstrap_servers=kafka), store=make_store("sqlite", workdir, None)
    )
    notify = notify_definition(
        NotifySettings(kafka_bootstrap_servers=kafka), store=make_store("sqlite", workdir, None)
    )
    async with running_service(registry) as reg, running_service(notify) as ntf:
        # The service runtime installed the JSON handler on the root logger: read what it writes.
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.StreamHandler)
        logs = io.StringIO()
        previous = handler.setStream(logs)
        logging.getLogger().setLevel(logging.DEBUG)
        try:
            yield reg, ntf, logs
        finally:
            logging.getLogger().setLevel(logging.INFO)
            handler.setStream(previous)


async def register_and_wait_for_inbox(reg: RunningService, ntf: RunningService) -> str:
    nib = random_nib()
    response = await reg.client.post(
        "/enterprises", json=enterprise_body(nib), headers=auth_headers("ministry")
    )
    assert response.status_code == 201, response.text

    async def inbox() -> list[Any]:
        got = await ntf.client.get(
            "/inbox", params={"recipient": f"enterprise:{nib}"}, headers=auth_headers("ministry")
        )
        items: list[Any] = got.json()["items"]
        return items

    await eventually(inbox, lambda items: len(items) == 1, "the notification")
    return nib


def _by_id(finished: tuple[ReadableSpan, ...]) -> dict[int, ReadableSpan]:
    return {span.context.span_id: span for span in finished}


async def test_one_trace_from_registry_request_to_notify_effect(
    spans: InMemorySpanExporter, services: tuple[RunningService, RunningService, io.StringIO]
) -> None:
    reg, ntf, _ = services
    nib = await register_and_wait_for_inbox(reg, ntf)

    def notify_spans() -> list[ReadableSpan]:
        return [
            s
            for s in spans.get_finished_spans()
            if s.kind == SpanKind.CONSUMER
            and s.attributes is not None
            and s.attributes.get("messaging.consumer.group.name") == "notify"
        ]

    consumed = await eventually(notify_spans, bool, "notify's consumer span")
    finished = spans.get_finished_spans()
    http = [s for s in finished if s.kind == SpanKind.SERVER and s.name == "POST /enterprises"]
    assert http, [s.name for s in finished]
    request_trace = {s.context.trace_id for s in http}
    in_request_trace = [s for s in consumed if s.context.trace_id in request_trace]
    assert len(in_request_trace) >= 1, "notify's processing is not in the request's trace"

    # Walk the parents: notify's span <- the relay's PRODUCER span <- the HTTP request.
    consumer_span = in_request_trace[-1]
    assert consumer_span.parent is not None
    parent_id = consumer_span.parent.span_id
    # The send span ends when the relay's coroutine sees the broker's answer, which on a
    # loaded machine can come after the consumer already read and processed the event.
    finished = await eventually(
        spans.get_finished_spans,
        lambda done: any(s.context.span_id == parent_id for s in done),
        "the relay's send span",
    )
    by_id = _by_id(finished)
    producer = by_id[parent_id]
    assert producer.kind == SpanKind.PRODUCER
    assert producer.attributes is not None
    assert producer.attributes["messaging.destination.name"] == ENTERPRISE_TOPIC
    ancestor = producer
    while ancestor.parent is not None and ancestor.parent.span_id in by_id:
        ancestor = by_id[ancestor.parent.span_id]
    assert ancestor.kind == SpanKind.SERVER and ancestor.name == "POST /enterprises"
    assert consumer_span.context.trace_id == ancestor.context.trace_id
    # Current messaging conventions only: no span says the deprecated messaging.operation.
    deprecated = [s.name for s in finished if "messaging.operation" in (s.attributes or {})]
    assert deprecated == []
    assert consumer_span.attributes is not None
    assert consumer_span.attributes["messaging.operation.name"] == "process"
    assert producer.attributes["messaging.operation.name"] == "send"
    # The send span ends when the broker answered: it says where the event landed, and
    # the consumer's span read it from there.
    landed = {
        k: producer.attributes[k]
        for k in ("messaging.destination.partition.id", "messaging.kafka.offset")
    }
    read = {k: consumer_span.attributes[k] for k in landed}
    assert landed == read
    assert nib  # the trace belongs to this registration (the inbox item was checked above)


async def test_metrics_endpoint_reports_processing_outbox_and_lag(
    services: tuple[RunningService, RunningService, io.StringIO],
) -> None:
    reg, ntf, _ = services
    await register_and_wait_for_inbox(reg, ntf)

    async def notify_metrics() -> str:
        return (await ntf.client.get("/metrics")).text

    text = await eventually(
        notify_metrics, lambda t: 'ikm_consumer_lag{group="notify"' in t, "the lag gauge"
    )
    assert 'ikm_events_processed_total{group="notify",type="EnterpriseRegistered"}' in text
    assert f'ikm_consumer_lag{{group="notify",partition="0",topic="{ENTERPRISE_TOPIC}"}}' in text
    registry_text = (await reg.client.get("/metrics")).text
    assert 'ikm_outbox_backlog{service="registry"}' in registry_text
    assert 'ikm_outbox_oldest_pending_age_seconds{service="registry"}' in registry_text
    assert (
        'http_server_request_duration_seconds_count{http_request_method="POST",'
        'http_response_status_code="201",http_route="/enterprises",service_name="registry"}'
    ) in registry_text


async def test_logs_are_json_with_trace_ids_and_no_personal_data(
    services: tuple[RunningService, RunningService, io.StringIO],
) -> None:
    reg, ntf, logs = services
    logs.truncate(0)
    logs.seek(0)
    nib = await register_and_wait_for_inbox(reg, ntf)
    # A request that fails validation: its log lines must not echo the owner's data either.
    bad = {**enterprise_body(random_nib()), "nib": "12"}
    assert (
        await reg.client.post("/enterprises", json=bad, headers=auth_headers("ministry"))
    ).status_code == 422
    # Free text that slips personal data into a message is masked on the way out.
    logging.getLogger("ikm.test").warning(
        "contact %s / %s, NIK 3471015507900002", OWNER_EMAIL, OWNER_PHONE
    )

    lines = [line for line in logs.getvalue().splitlines() if line.strip()]
    assert lines, "the services wrote no log lines at DEBUG level"
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    for entry in entries:
        assert {"time", "level", "service", "logger", "message"} <= entry.keys()
    traced = [e for e in entries if "trace_id" in e]
    assert traced, "no log line carries a trace id"
    for entry in traced:
        assert len(entry["trace_id"]) == 32 and len(entry["span_id"]) == 16
    text = logs.getvalue()
    for personal in (OWNER_NAME, OWNER_EMAIL, OWNER_PHONE, "3471015507900002"):
        assert personal not in text
    assert "s***@example.id" in text and "3471********0002" in text  # masked, not dropped
    assert "0812****7890" in text
    processing = [e for e in traced if e["message"].startswith("processing ")]
    assert processing, "notify's per-event debug line is missing"
    assert nib  # the registration above went through while logs were captured


async def test_readyz_fails_while_outbox_backlog_exceeds_threshold(
    kafka: str, tmp_path: Path
) -> None:
    settings = RegistrySettings(kafka_bootstrap_servers=kafka, ready_max_outbox_backlog=0)
    definition = registry_definition(settings, store=make_store("sqlite", tmp_path, None))
    async with running_service(definition) as reg:
        assert (await reg.client.get("/healthz")).json() == {"status": "ok"}
        ready = await reg.client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["broker"] == "ok"
        assert ready.json()["checks"]["store"] == "ok"

        await reg.runtime.relay.stop()  # the relay is down: events pile up in the outbox
        response = await reg.client.post(
            "/enterprises", json=enterprise_body(random_nib()), headers=auth_headers("ministry")
        )
        assert response.status_code == 201, response.text
        not_ready = await reg.client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["checks"]["outbox_backlog"] == 1
        assert "backlog 1 > 0" in not_ready.json()["checks"]["outbox"]

        reg.runtime.relay.start()

        async def readyz() -> int:
            return (await reg.client.get("/readyz")).status_code

        await eventually(readyz, lambda status: status == 200, "/readyz to recover")


async def test_readyz_fails_when_the_store_is_unreachable(kafka: str, tmp_path: Path) -> None:
    definition = registry_definition(
        RegistrySettings(kafka_bootstrap_servers=kafka), store=make_store("sqlite", tmp_path, None)
    )
    async with running_service(definition) as reg:
        await reg.runtime.relay.stop()
        await reg.runtime.store.close()
        response = await reg.client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["checks"]["store"].startswith("unreachable")
        assert (await reg.client.get("/healthz")).status_code == 200  # alive, just not ready


async def test_lag_probe_counts_messages_behind_the_committed_offset(kafka: str) -> None:
    topic = f"ikm.test.lag.{uuid.uuid4().hex[:8]}.v1"
    group = f"lag-{uuid.uuid4().hex[:8]}"
    await ensure_topics(kafka, [topic], partitions=1)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
    probe = ConsumerLagProbe(kafka)
    committer = AIOKafkaConsumer(bootstrap_servers=kafka, group_id=group, enable_auto_commit=False)
    await producer.start()
    await probe.start()
    await committer.start()
    try:
        for n in range(5):
            await producer.send_and_wait(topic, f"m{n}".encode(), key=b"k")
        assert await probe.measure(group, [topic]) == {(topic, 0): 5}  # nothing committed yet
        committer.assign([TopicPartition(topic, 0)])
        await committer.commit({TopicPartition(topic, 0): 3})
        assert await probe.measure(group, [topic]) == {(topic, 0): 2}
        await committer.commit({TopicPartition(topic, 0): 5})
        assert await probe.measure(group, [topic]) == {(topic, 0): 0}
    finally:
        await committer.stop()
        await probe.stop()
        await producer.stop()
        await delete_topics(kafka, [topic])
