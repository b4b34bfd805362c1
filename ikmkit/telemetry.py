"""Tracing and structured logging.

Traces: an SDK tracer provider whose exporter is chosen by the standard OTel
variables: ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console`` or ``none``; default
``otlp`` when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else ``none``), with the
OTLP endpoint and headers from ``OTEL_EXPORTER_OTLP_*``. Trace context crosses
Kafka in the W3C ``traceparent`` header.

Logs: one JSON object per line with trace and span ids; personal data
(NIK, phone numbers, e-mail addresses) is masked before anything is written.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SpanExporter,
)

_NIK = re.compile(r"(?<!\d)(\d{6})\d{6}(\d{4})(?!\d)")
_PHONE = re.compile(r"(?<![\d\w])(\+62|62|0)8\d{1,2}[\s-]?\d{3,4}[\s-]?\d{2,5}(?!\d)")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")


def mask_personal_data(text: str) -> str:
    """Mask NIKs, Indonesian phone numbers and e-mail addresses in free text."""
    text = _NIK.sub(lambda m: f"{m.group(1)}******{m.group(2)}", text)
    text = _PHONE.sub("[phone]", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


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
    for name in ("aiokafka", "uvicorn.access"):
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
