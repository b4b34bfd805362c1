"""Tracing and structured logging.

Traces: an SDK tracer provider whose exporter is chosen by the standard OTel
variables: ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console`` or ``none``; default
``otlp`` when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else ``none``), with the
OTLP endpoint and headers from ``OTEL_EXPORTER_OTLP_*`` (``ikmkit.telemetry.provider``).
Trace context crosses Kafka in the W3C ``traceparent`` header (``tracecontext``); each
event gets a PRODUCER span when the relay sends it and a CONSUMER span, its child, in every
consumer that processes it.

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
from types import TracebackType
from typing import Literal

from opentelemetry import trace

from contracts.privacy import scrub_text
from ikmkit.telemetry.log_repeats import RepeatLimit
from ikmkit.telemetry.provider import (
    CONSUMER_TRACER,
    PRODUCER_TRACER,
    installed,
    setup_tracing,
    unheard_span,
)
from ikmkit.telemetry.span_attributes import set_clean_attributes
from ikmkit.telemetry.tracecontext import (
    extract_parent,
    parent_context,
    remote_parent,
    traceparent_of,
)

__all__ = [
    "remote_parent",
    "setup_tracing",
    "traceparent_of",
]  # re-exported: where callers found them

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
    handler.addFilter(RepeatLimit())  # the Kafka client repeats itself 10 times a second
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("IKM_LOG_LEVEL", "INFO"))
    for name in ("aiokafka", "uvicorn.access", "httpx"):
        logging.getLogger(name).setLevel(logging.WARNING)


_consumer_tracer = trace.get_tracer(CONSUMER_TRACER)
_producer_tracer = trace.get_tracer(PRODUCER_TRACER)
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


def start_event_span(
    traceparent: str | None,
    *,
    topic: str,
    group: str,
    event_id: str,
    event_type: str,
    partition: int | None = None,
    offset: int | None = None,
    key: bytes | None = None,
) -> trace.Span:
    """A CONSUMER span for one event, a child of the span that published it; not made current.

    Under the SDK's default sampler (which decides without attributes) they are set once the
    span is known to record, so a span nobody samples builds none; any other sampler gets
    them at the start, as the SDK's API gives them, since it may decide by them."""
    parent = remote_parent(traceparent) if traceparent else None
    quiet = unheard_span(parent)
    if quiet is not None:
        return quiet
    context = trace.set_span_in_context(trace.NonRecordingSpan(parent)) if parent else None
    name, kind = f"process {topic}", trace.SpanKind.CONSUMER
    own = installed()
    if own is None:  # a sampler of unknown kind may decide by the attributes
        attributes = _event_attributes(topic, group, event_id, event_type, partition, offset, key)
        return _consumer_tracer.start_span(name, context=context, kind=kind, attributes=attributes)
    span = own.consumer.start_span(name, context=context, kind=kind)
    if span.is_recording():
        attributes = _event_attributes(topic, group, event_id, event_type, partition, offset, key)
        set_clean_attributes(span, attributes)
    return span


def _event_attributes(
    topic: str,
    group: str,
    event_id: str,
    event_type: str,
    partition: int | None,
    offset: int | None,
    key: bytes | None,
) -> dict[str, str | int]:
    attributes = messaging_attributes(
        "process",
        topic,
        message_id=event_id,
        key=key,
        group=group,
        partition=partition,
        offset=offset,
    )
    attributes["cloudevents.event_id"] = event_id
    attributes["cloudevents.event_type"] = event_type
    return attributes


def _log_processing(event_type: str, event_id: str, group: str) -> None:
    # Ids and type only (never the payload): with IKM_LOG_LEVEL=DEBUG each event's
    # log line carries the trace id that leads to the request that caused it.
    _events_log.debug("processing %s %s (group %s)", event_type, event_id, group)


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
    """The event's CONSUMER span (:func:`start_event_span`), current while it is processed.

    Each event gets its own span continuing the producer's trace (a batch has no span
    of its own: FastStream's telemetry middleware would start a fresh trace per batch,
    named by the deprecated ``messaging.operation``): an HTTP request, its outbox relay
    and every consumer's effect share one trace.
    """
    span = start_event_span(
        traceparent,
        topic=topic,
        group=group,
        event_id=event_id,
        event_type=event_type,
        partition=partition,
        offset=offset,
        key=key,
    )
    with trace.use_span(span, end_on_exit=True):
        _log_processing(event_type, event_id, group)
        yield span


class EventSpans:
    """The CONSUMER spans of a batch's events, processed by one handler call.

    Each event keeps its span in its producer's trace, but the spans are not entered one
    inside the other (500 nested contexts for one call): while the batch runs, the last
    event's span is current (what the events the batch records inherit, as before), and
    all end together; an exception marks each as failed, as a current span would be."""

    def __init__(self, group: str) -> None:
        self.group = group
        self._spans: list[trace.Span] = []
        self._debug = _events_log.isEnabledFor(logging.DEBUG)

    def start(
        self,
        traceparent: str | None,
        *,
        topic: str,
        event_id: str,
        event_type: str,
        partition: int | None = None,
        offset: int | None = None,
        key: bytes | None = None,
    ) -> None:
        span = start_event_span(
            traceparent,
            topic=topic,
            group=self.group,
            event_id=event_id,
            event_type=event_type,
            partition=partition,
            offset=offset,
            key=key,
        )
        self._spans.append(span)
        if self._debug:
            with trace.use_span(span):
                _log_processing(event_type, event_id, self.group)

    def __enter__(self) -> EventSpans:
        self._current = trace.use_span(
            self._spans[-1] if self._spans else trace.INVALID_SPAN, end_on_exit=False
        )
        self._current.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._current.__exit__(None, None, None)
        failed = isinstance(error, Exception)
        for span in self._spans:
            if failed and span.is_recording():
                assert error is not None
                span.record_exception(error)
                span.set_status(
                    trace.Status(trace.StatusCode.ERROR, f"{type(error).__name__}: {error}")
                )
            span.end()


def start_send_span(
    topic: str, *, message_id: str, key: str, headers: Mapping[str, str]
) -> trace.Span:
    """The PRODUCER span of one outbox event, a child of the request that recorded it.

    The relay writes this span's context into the message's ``traceparent`` (every
    consumer's span is its child) and ends it with :func:`end_send_span` once the broker
    answered, so it covers the send and says where the event landed. The request's context
    is read from the event's headers as ``propagate.extract`` reads it.
    """
    parent, context = extract_parent(headers)
    quiet = unheard_span(parent)
    if quiet is not None:
        return quiet
    if context is None:
        context = parent_context(parent)
    attributes = messaging_attributes("send", topic, message_id=message_id, key=key)
    name, kind = f"send {topic}", trace.SpanKind.PRODUCER
    own = installed()
    if own is None:  # a sampler of unknown kind may decide by the attributes
        return _producer_tracer.start_span(name, context=context, kind=kind, attributes=attributes)
    span = own.producer.start_span(name, context=context, kind=kind)
    set_clean_attributes(span, attributes)
    return span


def end_send_span(
    span: trace.Span,
    *,
    partition: int | None = None,
    offset: int | None = None,
    error: str | None = None,
) -> None:
    if not span.is_recording():
        span.end()
        return
    landed: dict[str, str | int] = {}
    if partition is not None:
        landed["messaging.destination.partition.id"] = str(partition)
    if offset is not None:
        landed["messaging.kafka.offset"] = offset
    if error is not None:
        # The publisher's error descriptions name Kafka errors, never payloads.
        landed["error.type"] = error.split(":", 1)[0]
        span.set_status(trace.Status(trace.StatusCode.ERROR, error))
    if landed:
        set_clean_attributes(span, landed)
    span.end()
