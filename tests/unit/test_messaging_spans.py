"""Kafka spans carry the current OpenTelemetry messaging semantic conventions.

``messaging.operation.name``/``messaging.operation.type`` (not the deprecated
``messaging.operation``), the consumer group, partition, offset, key and message id, and the
span name ``{operation} {destination}``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from ikmkit.messaging.outbox import row_message
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
