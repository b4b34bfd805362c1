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
from types import TracebackType
from typing import Literal

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

from contracts.privacy import scrub_text
from ikmkit.telemetry.span_attributes import set_clean_attributes
from ikmkit.telemetry.tracecontext import (
    extract_parent,
    parent_context,
    remote_parent,
    traceparent_of,
)

__all__ = ["remote_parent", "traceparent_of"]  # re-exported: where callers found them

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


class _SpanProcessors(SynchronousMultiSpanProcessor):
    """The provider's span processors, knowing whether any would receive a span."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.listened = False

    def add_span_processor(self, span_processor: SpanProcessor) -> None:
        super().add_span_processor(span_processor)
        self.listened = True


_own_provider: list[tuple[TracerProvider, _SpanProcessors]] = []
"""The provider ``setup_tracing`` installed, if its sampler is the SDK's default one."""


def setup_tracing(service: str) -> TracerProvider:
    """Install (once per process) a tracer provider named after the service."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    name = os.environ.get("OTEL_SERVICE_NAME", f"ikm-{service}")
    processors = _SpanProcessors()
    provider = TracerProvider(
        resource=Resource.create({"service.name": name}), active_span_processor=processors
    )
    exporter = _exporter()
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    sampler = provider.sampler.get_description()
    disabled = os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
    if sampler.startswith(_FOLLOWS_PARENT) and not disabled:
        _own_provider[:] = [(provider, processors)]
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


_FOLLOWS_PARENT = (  # the SDK's default sampler: a root span is sampled, a child as its parent
    "ParentBased{root:AlwaysOnSampler,"
    "remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,"
)
_INHERITED_FLAGS = trace.TraceFlags.SAMPLED | trace.TraceFlags.RANDOM_TRACE_ID


def _installed() -> tuple[TracerProvider, _SpanProcessors] | None:
    """The global provider, if ``setup_tracing`` installed it with the SDK's default sampler."""
    if not _own_provider or trace.get_tracer_provider() is not _own_provider[0][0]:
        return None
    return _own_provider[0]


def _unheard_span(parent: trace.SpanContext | None) -> trace.Span | None:
    """The span the SDK would start (a child of ``parent``, or a root), when no span
    processor would receive it.

    Such a span is recorded, ended and dropped (~30 µs per event); its context alone (the
    trace id for log lines, the traceparent of events it causes) is what anyone sees. The
    context is the SDK's: the parent's trace (or a new one), a new span id, the flags its
    default sampler gives (a root sampled; a child sampled as its parent; the random-trace-id
    flag inherited, or set for ids the generator draws at random). None: build a real span."""
    installed = _installed()
    if installed is None or installed[1].listened:
        return None
    provider = installed[0]
    ids = provider.id_generator
    if parent is None:
        flags = trace.TraceFlags.SAMPLED
        if ids.is_trace_id_random():
            flags |= trace.TraceFlags.RANDOM_TRACE_ID
        context = trace.SpanContext(
            ids.generate_trace_id(),
            ids.generate_span_id(),
            is_remote=False,
            trace_flags=trace.TraceFlags(flags),
        )
    else:
        context = trace.SpanContext(
            parent.trace_id,
            ids.generate_span_id(),
            is_remote=False,
            trace_flags=trace.TraceFlags(parent.trace_flags & _INHERITED_FLAGS),
            trace_state=parent.trace_state,
        )
    return trace.NonRecordingSpan(context)


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

    Its attributes are set once it is known to record (a span nobody samples builds none);
    the built-in samplers decide without them."""
    parent = remote_parent(traceparent) if traceparent else None
    quiet = _unheard_span(parent)
    if quiet is not None:
        return quiet
    context = trace.set_span_in_context(trace.NonRecordingSpan(parent)) if parent else None
    span = _consumer_tracer.start_span(
        f"process {topic}", context=context, kind=trace.SpanKind.CONSUMER
    )
    if span.is_recording():
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
        set_clean_attributes(span, attributes)
    return span


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
    quiet = _unheard_span(parent)
    if quiet is not None:
        return quiet
    if context is None:
        context = parent_context(parent)
    attributes = messaging_attributes("send", topic, message_id=message_id, key=key)
    name, kind = f"send {topic}", trace.SpanKind.PRODUCER
    if _installed() is None:  # a sampler of unknown kind may decide by the attributes
        return _producer_tracer.start_span(name, context=context, kind=kind, attributes=attributes)
    span = _producer_tracer.start_span(name, context=context, kind=kind)
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
