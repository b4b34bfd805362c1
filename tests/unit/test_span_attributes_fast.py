"""Messaging spans' attributes stored without the SDK cleaning them again are what the SDK
would have stored: the same keys, values, order and drop count under every span limit; and
the relay's send spans, as exported, are those the propagator API and ``set_attributes``
gave (same name, kind, parent, attributes, status; the message's ``traceparent`` names them).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from ikmkit.messaging.outbox import OutgoingMessage, PublishResult, publish_rows
from ikmkit.telemetry.otel import messaging_attributes, setup_tracing
from ikmkit.telemetry.span_attributes import set_clean_attributes

TOPIC = "ikm.registry.enterprise.v1"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
ATTRIBUTES: dict[str, str | int] = {
    **messaging_attributes(
        "process", TOPIC, message_id="e-1", key=b"1234567890123", group="g", partition=2, offset=9
    ),
    "cloudevents.event_type": "id.go.kemenperin.ikm.EnterpriseRegistered.v1",
    "empty": "",
}


def _both(limits: SpanLimits, before: Mapping[str, Any] | None = None) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    for write in (lambda s, a: s.set_attributes(a), set_clean_attributes):
        span = tracer.start_span("s", attributes=before)
        write(span, ATTRIBUTES)
        span.end()
        write(span, {"late": 1})  # an ended span takes nothing more
    return list(exporter.get_finished_spans())


@pytest.mark.parametrize(
    "limits",
    [
        SpanLimits(),
        SpanLimits(max_span_attribute_length=4),
        SpanLimits(max_span_attributes=5),
        SpanLimits(max_span_attributes=len(ATTRIBUTES)),
        SpanLimits(max_span_attributes=0),
    ],
)
@pytest.mark.parametrize("before", [None, {"first": 1}, {"messaging.system": "x", "first": 1}])
def test_clean_attributes_are_stored_as_the_sdk_stores_them(
    limits: SpanLimits, before: dict[str, Any] | None
) -> None:
    cleaned, direct = _both(limits, before)
    assert list((direct.attributes or {}).items()) == list((cleaned.attributes or {}).items())
    assert direct.dropped_attributes == cleaned.dropped_attributes


def test_a_span_that_records_nothing_takes_them_silently() -> None:
    span = trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
    set_clean_attributes(span, ATTRIBUTES)
    assert not span.is_recording()


@pytest.fixture(scope="module")
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    setup_tracing("test").add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()


def _reference_send(rows: list[dict[str, Any]], results: list[PublishResult]) -> list[Any]:
    """The relay's send spans as they were built: the propagator API, ``set_attribute``."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("ikmkit.messaging.outbox")
    for row, result in zip(rows, results, strict=True):
        span = tracer.start_span(
            f"send {row['topic']}",
            context=propagate.extract(dict(row["headers"])),
            kind=trace.SpanKind.PRODUCER,
            attributes=messaging_attributes(
                "send", row["topic"], message_id=row["id"], key=str(row["key"])
            ),
        )
        if result.partition is not None:
            span.set_attribute("messaging.destination.partition.id", str(result.partition))
        if result.offset is not None:
            span.set_attribute("messaging.kafka.offset", result.offset)
        if result.error is not None:
            span.set_attribute("error.type", result.error.split(":", 1)[0])
            span.set_status(trace.Status(trace.StatusCode.ERROR, result.error))
        span.end()
    return list(exporter.get_finished_spans())


class _Landing:
    def __init__(self, results: list[PublishResult]) -> None:
        self.results = results
        self.sent: list[OutgoingMessage] = []

    async def publish_batch(self, messages: list[OutgoingMessage]) -> list[PublishResult]:
        self.sent = list(messages)
        return self.results


def _shape(span: ReadableSpan) -> tuple[Any, ...]:
    context = span.get_span_context()
    return (
        span.name,
        span.kind,
        span.parent,
        dict(span.attributes or {}),
        span.status.status_code,
        span.status.description,
        context.trace_flags if span.parent else None,
        context.trace_state,
        span.instrumentation_scope.name if span.instrumentation_scope else None,
    )


async def test_send_spans_are_those_the_propagator_api_gave(
    exporter: InMemorySpanExporter,
) -> None:
    exporter.clear()
    headers = [
        {"traceparent": TRACEPARENT},
        {"traceparent": TRACEPARENT.replace("-01", "-03")},
        {"traceparent": TRACEPARENT, "tracestate": "v=1"},
        {},
    ]
    rows = [
        {"id": f"e-{i}", "topic": TOPIC, "key": 1234567890123 + i, "payload": "{}", "headers": h}
        for i, h in enumerate(headers)
    ]
    results = [
        PublishResult(partition=2, offset=41),
        PublishResult(error="KafkaTimeoutError: no answer"),
        PublishResult(partition=0, offset=0),
        PublishResult(partition=1, offset=7),
    ]
    publisher = _Landing(results)
    await publish_rows(publisher, rows)
    spans = sorted(exporter.get_finished_spans(), key=lambda s: str(s.attributes))
    expected = sorted(_reference_send(rows, results), key=lambda s: str(s.attributes))
    assert [_shape(s) for s in spans] == [_shape(s) for s in expected]
    by_id = {(s.attributes or {})["messaging.message.id"]: s for s in spans}
    for row, message in zip(rows, publisher.sent, strict=True):
        span = by_id[row["id"]].get_span_context()
        sent = dict(message.headers)["traceparent"].decode()
        assert sent == f"00-{span.trace_id:032x}-{span.span_id:016x}-{span.trace_flags:02x}"
