"""Kafka spans carry the current OpenTelemetry messaging semantic conventions.

``messaging.operation.name``/``messaging.operation.type`` (not the deprecated
``messaging.operation``), the consumer group, partition, offset, key and message id, and the
span name ``{operation} {destination}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from ikmkit.messaging.outbox import OutgoingMessage, PublishResult, publish_rows, row_message
from ikmkit.telemetry.otel import event_span, setup_tracing

TOPIC = "ikm.registry.enterprise.v1"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_tracing("test").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def test_a_consumer_span_names_group_partition_offset_and_key(
    exporter: InMemorySpanExporter,
) -> None:
    exporter.clear()
    with event_span(
        TRACEPARENT,
        topic=TOPIC,
        group="notify",
        event_id="e-1",
        event_type="id.go.kemenperin.ikm.EnterpriseRegistered.v1",
        partition=2,
        offset=41,
        key=b"1234567890123",
    ):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.kind == SpanKind.CONSUMER
    assert span.name == f"process {TOPIC}"
    assert dict(span.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.operation.name": "process",
        "messaging.operation.type": "process",
        "messaging.destination.name": TOPIC,
        "messaging.consumer.group.name": "notify",
        "messaging.destination.partition.id": "2",
        "messaging.kafka.offset": 41,
        "messaging.kafka.message.key": "1234567890123",
        "messaging.message.id": "e-1",
        "cloudevents.event_id": "e-1",
        "cloudevents.event_type": "id.go.kemenperin.ikm.EnterpriseRegistered.v1",
    }
    assert span.context is not None and span.parent is not None
    assert format(span.context.trace_id, "032x") == TRACEPARENT.split("-")[1]


def test_the_relay_producer_span_says_send_and_names_destination_key_and_id(
    exporter: InMemorySpanExporter,
) -> None:
    exporter.clear()
    row = {
        "id": "e-2",
        "topic": TOPIC,
        "key": "1234567890123",
        "payload": "{}",
        "headers": {"traceparent": TRACEPARENT},
    }
    message = row_message(row)
    (span,) = exporter.get_finished_spans()
    assert span.kind == SpanKind.PRODUCER
    assert span.name == f"send {TOPIC}"
    assert dict(span.attributes or {}) == {
        "messaging.system": "kafka",
        "messaging.operation.name": "send",
        "messaging.operation.type": "send",
        "messaging.destination.name": TOPIC,
        "messaging.kafka.message.key": "1234567890123",
        "messaging.message.id": "e-2",
    }
    # The message carries the producer span's context to its consumers.
    sent = dict(message.headers)["traceparent"].decode()
    assert sent.split("-")[2] == format(span.context.span_id, "016x")


class _Publisher:
    """Lands every message on partition 2 from offset 41, except the second (refused)."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self.exporter = exporter
        self.open_during_send: list[str] = []

    async def publish_batch(self, messages: Sequence[OutgoingMessage]) -> list[PublishResult]:
        # The send spans are still open: they cover the round trip to the broker.
        self.open_during_send = [s.name for s in self.exporter.get_finished_spans()]
        return [
            PublishResult(error="MessageSizeTooLargeError", permanent=True)
            if i == 1
            else PublishResult(partition=2, offset=41 + i, batch_offset=41)
            for i in range(len(messages))
        ]


async def test_the_relay_send_span_covers_the_publish_and_says_where_it_landed(
    exporter: InMemorySpanExporter,
) -> None:
    exporter.clear()
    rows = [
        {"id": f"e-{i}", "topic": TOPIC, "key": "1234567890123", "payload": "{}", "headers": {}}
        for i in range(3)
    ]
    publisher = _Publisher(exporter)
    results = await publish_rows(publisher, rows)
    assert [r.ok for r in results] == [True, False, True]
    assert publisher.open_during_send == []
    spans = {s.attributes["messaging.message.id"]: s for s in exporter.get_finished_spans()}  # type: ignore[index]
    landed = spans["e-2"].attributes or {}
    assert landed["messaging.destination.partition.id"] == "2"
    assert landed["messaging.kafka.offset"] == 43
    refused = spans["e-1"]
    assert refused.status.status_code == StatusCode.ERROR
    assert (refused.attributes or {})["error.type"] == "MessageSizeTooLargeError"
    assert "messaging.kafka.offset" not in (refused.attributes or {})
