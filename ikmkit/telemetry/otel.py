"""Tracing and structured logging.

Traces: an SDK tracer provider whose exporter is chosen by the standard OTel
variables: ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console`` or ``none``; default
``otlp`` when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else ``none``), with the
OTLP endpoint and headers from ``OTEL_EXPORTER_OTLP_*``. Trace context crosses
Kafka in the W3C ``traceparent`` header.

Metrics are prometheus-client's alone (``ikmkit.telemetry.metrics``, scraped at ``/metrics``).

Logs: one JSON object per line with trace and span ids; personal data
(NIK, NPWP, phone, e-mail and bank account numbers) is masked before anything is written,
by the same rules as every other surface (``contracts.privacy``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Literal

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)

from contracts.privacy import scrub_text

mask_personal_data = scrub_text
"""Mask NIKs, NPWPs, phone, e-mail and bank account numbers in free text (``contracts.privacy``)."""


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        span = trace.get_current_span().get_span_context()
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": mask_personal_data(record.getMessage()),
        }
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        if record.exc_info:
            entry["exception"] = mask_personal_data(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(service: str, level: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("IKM_LOG_LEVEL", "INFO"))
    for name in ("aiokafka", "uvicorn.access", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _exporter() -> SpanExporter | None:
    default = "otlp" if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "none"
    choice = os.environ.get("OTEL_TRACES_EXPORTER", default).strip().lower()
    if choice == "console":
        return ConsoleSpanExporter()
    if choice == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    return None


def setup_tracing(service: str) -> TracerProvider:
    """Install (once per process) a tracer provider named after the service."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    name = os.environ.get("OTEL_SERVICE_NAME", f"ikm-{service}")
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    exporter = _exporter()
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider


_consumer_tracer = trace.get_tracer("ikmkit.messaging.consumer")
_producer_tracer = trace.get_tracer("ikmkit.messaging.outbox")
_events_log = logging.getLogger("ikmkit.messaging.consumer")

MessagingOperation = Literal["send", "process"]


def messaging_attributes(
    operation: MessagingOperation,
    topic: str,
    *,
    message_id: str,
    key: bytes | str | None = None,
    group: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
) -> dict[str, str | int]:
    """Span attributes of one Kafka message, by the current messaging semantic conventions."""
    attributes: dict[str, str | int] = {
        "messaging.system": "kafka",
        "messaging.operation.name": operation,
        "messaging.operation.type": operation,
        "messaging.destination.name": topic,
        "messaging.message.id": message_id,
    }
    if group is not None:
        attributes["messaging.consumer.group.name"] = group
    if partition is not None:
        attributes["messaging.destination.partition.id"] = str(partition)
    if offset is not None:
        attributes["messaging.kafka.offset"] = offset
    if key is not None:  # an aggregate id (NIB, partner id): never personal data
        text = key.decode(errors="replace") if isinstance(key, bytes) else key
        attributes["messaging.kafka.message.key"] = text
    return attributes


@contextmanager
def event_span(
    traceparent: str | None,
    *,
    topic: str,
    group: str,
    event_id: str,
    event_type: str,
    partition: int | None = None,
    offset: int | None = None,
    key: bytes | None = None,
) -> Iterator[trace.Span]:
    """A CONSUMER span for one event, a child of the span that published it.

    Each event gets its own span continuing the producer's trace (a batch has no span
    of its own: FastStream's telemetry middleware would start a fresh trace per batch,
    named by the deprecated ``messaging.operation``): an HTTP request, its outbox relay
    and every consumer's effect share one trace.
    """
    parent = propagate.extract({"traceparent": traceparent}) if traceparent else None
    attributes = messaging_attributes(
        "process",
        topic,
        message_id=event_id,
        key=key,
        group=group,
        partition=partition,
        offset=offset,
    )
    with _consumer_tracer.start_as_current_span(
        f"process {topic}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={
            **attributes,
            "cloudevents.event_id": event_id,
            "cloudevents.event_type": event_type,
        },
    ) as span:
        # Ids and type only (never the payload): with IKM_LOG_LEVEL=DEBUG each event's
        # log line carries the trace id that leads to the request that caused it.
        _events_log.debug("processing %s %s (group %s)", event_type, event_id, group)
        yield span


def start_send_span(
    topic: str, *, message_id: str, key: str, headers: Mapping[str, str]
) -> trace.Span:
    """The PRODUCER span of one outbox event, a child of the request that recorded it.

    The relay writes this span's context into the message's ``traceparent`` (every
    consumer's span is its child) and ends it with :func:`end_send_span` once the broker
    answered, so it covers the send and says where the event landed.
    """
    return _producer_tracer.start_span(
        f"send {topic}",
        context=propagate.extract(dict(headers)),
        kind=trace.SpanKind.PRODUCER,
        attributes=messaging_attributes("send", topic, message_id=message_id, key=key),
    )


def end_send_span(
    span: trace.Span,
    *,
    partition: int | None = None,
    offset: int | None = None,
    error: str | None = None,
) -> None:
    if partition is not None:
        span.set_attribute("messaging.destination.partition.id", str(partition))
    if offset is not None:
        span.set_attribute("messaging.kafka.offset", offset)
    if error is not None:
        # The publisher's error descriptions name Kafka errors, never payloads.
        span.set_attribute("error.type", error.split(":", 1)[0])
        span.set_status(trace.Status(trace.StatusCode.ERROR, error))
    span.end()


def traceparent_of(span: trace.Span) -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent")
