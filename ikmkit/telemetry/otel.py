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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

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
_events_log = logging.getLogger("ikmkit.messaging.consumer")


@contextmanager
def event_span(
    traceparent: str | None, *, topic: str, group: str, event_id: str, event_type: str
) -> Iterator[trace.Span]:
    """A CONSUMER span for one event, a child of the span that published it.

    FastStream's middleware starts a fresh trace for a batch (it only links the
    producers), so each event gets its own span continuing the producer's trace:
    an HTTP request, its outbox relay and every consumer's effect share one trace.
    """
    parent = propagate.extract({"traceparent": traceparent}) if traceparent else None
    with _consumer_tracer.start_as_current_span(
        f"{topic} process",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation": "process",
            "messaging.destination.name": topic,
            "messaging.consumer.group.name": group,
            "messaging.message.id": event_id,
            "cloudevents.event_type": event_type,
        },
    ) as span:
        # Ids and type only (never the payload): with IKM_LOG_LEVEL=DEBUG each event's
        # log line carries the trace id that leads to the request that caused it.
        _events_log.debug("processing %s %s (group %s)", event_type, event_id, group)
        yield span
