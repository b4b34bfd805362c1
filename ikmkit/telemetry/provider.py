"""The process's tracer provider (``setup_tracing``) and what its default sampler decides.

Traces: an SDK tracer provider whose exporter is chosen by the standard OTel
variables: ``OTEL_TRACES_EXPORTER`` (``otlp``, ``console`` or ``none``; default
``otlp`` when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, else ``none``), with the
OTLP endpoint and headers from ``OTEL_EXPORTER_OTLP_*``.
"""

from __future__ import annotations

import os
from typing import NamedTuple

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, SynchronousMultiSpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter


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


class _Installed(NamedTuple):
    provider: TracerProvider
    processors: _SpanProcessors
    consumer: trace.Tracer
    """The provider's own tracers: what the module's proxy tracers hand each span to."""
    producer: trace.Tracer


_own_provider: list[_Installed] = []
"""The provider ``setup_tracing`` installed, if its sampler is the SDK's default one."""


CONSUMER_TRACER, PRODUCER_TRACER = "ikmkit.messaging.consumer", "ikmkit.messaging.outbox"


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
        tracers = (provider.get_tracer(CONSUMER_TRACER), provider.get_tracer(PRODUCER_TRACER))
        _own_provider[:] = [_Installed(provider, processors, *tracers)]
    return provider


_FOLLOWS_PARENT = (  # the SDK's default sampler: a root span is sampled, a child as its parent
    "ParentBased{root:AlwaysOnSampler,"
    "remoteParentSampled:AlwaysOnSampler,remoteParentNotSampled:AlwaysOffSampler,"
)
_INHERITED_FLAGS = trace.TraceFlags.SAMPLED | trace.TraceFlags.RANDOM_TRACE_ID


def own_tracer(tracer: trace.Tracer) -> bool:
    """Whether ``tracer`` is the installed provider's (its sampler the SDK's default)."""
    own = installed()
    return own is not None and getattr(tracer, "span_processor", None) is own.processors


def installed() -> _Installed | None:
    """The global provider, if ``setup_tracing`` installed it with the SDK's default sampler."""
    if not _own_provider or trace.get_tracer_provider() is not _own_provider[0][0]:
        return None
    return _own_provider[0]


def unheard_span(
    parent: trace.SpanContext | None, tracer: trace.Tracer | None = None
) -> trace.Span | None:
    """The span the SDK would start (a child of ``parent``, or a root), when no span
    processor would receive it.

    Such a span is recorded, ended and dropped (~30 µs per event); its context alone (the
    trace id for log lines, the traceparent of events it causes) is what anyone sees. The
    context is the SDK's: the parent's trace (or a new one), a new span id, the flags its
    default sampler gives (a root sampled; a child sampled as its parent; the random-trace-id
    flag inherited, or set for ids the generator draws at random). None: build a real span.
    A ``tracer`` given: the span would be its, which must be the installed provider's."""
    own = installed()
    if own is None or own.processors.listened:
        return None
    if tracer is not None and getattr(tracer, "span_processor", None) is not own.processors:
        return None
    provider = own.provider
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
