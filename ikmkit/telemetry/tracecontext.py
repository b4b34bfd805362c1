"""W3C trace context read and written without the propagator API's per-call machinery.

``propagate.extract``/``inject`` build a carrier dict, a context and a getter or setter
call per header for what is, with the W3C propagators configured (the default,
``OTEL_PROPAGATORS=tracecontext,baggage``), one fixed-format string:
``00-<trace id>-<span id>-<flags>``. Here that string is parsed and formatted directly, and
everything else (other propagators configured, a ``tracestate`` or ``baggage`` header, a
traceparent not in the platform's own form) goes to the propagators, so the answers are
theirs (``tests/unit/test_tracecontext_fast.py`` holds them to it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})")
_W3C_TYPES = (TraceContextTextMapPropagator, W3CBaggagePropagator)
_OTHER_READ = ("tracestate", "baggage")
"""Headers the W3C propagators read besides ``traceparent``: present, they decide."""

_recognised: list[tuple[TextMapPropagator, bool]] = []


def w3c_propagation() -> bool:
    """Whether the global propagator is the W3C trace context one (alone or with W3C baggage),
    whose ``traceparent`` this module reads and writes as it does."""
    textmap = propagate.get_global_textmap()
    if _recognised and _recognised[0][0] is textmap:
        return _recognised[0][1]
    parts = getattr(textmap, "_propagators", [textmap])  # a CompositePropagator's, or itself
    kinds = [type(part) for part in parts] if isinstance(parts, list) else []
    known = TraceContextTextMapPropagator in kinds and all(k in _W3C_TYPES for k in kinds)
    _recognised[:] = [(textmap, known)]
    return known


def remote_parent(traceparent: str) -> trace.SpanContext | None:
    """The producer's span context in a W3C ``traceparent``, read as the W3C propagator reads it.

    The platform's own form (version 00, no padding) is parsed here, ~10x cheaper than
    ``propagate.extract``; anything else goes to the propagator."""
    match = _TRACEPARENT.fullmatch(traceparent)
    if match is None:
        extracted = propagate.extract({"traceparent": traceparent})
        found = trace.get_current_span(extracted).get_span_context()
        return found if found.is_valid else None
    trace_id, span_id, flags = map(int, match.groups(), (16, 16, 16))
    context = trace.SpanContext(trace_id, span_id, True, trace.TraceFlags(flags))
    return context if context.is_valid else None


def extract_parent(headers: Mapping[str, str]) -> tuple[trace.SpanContext | None, Context | None]:
    """What ``propagate.extract(dict(headers))`` gives: the parent span context (None: a
    span started in it is a root) and, when the propagators read it, the context itself
    (None: :func:`parent_context` of the parent is that context)."""
    if w3c_propagation() and all(name not in headers for name in _OTHER_READ):
        traceparent = headers.get("traceparent")
        return (remote_parent(traceparent) if traceparent else None), None
    context = propagate.extract(dict(headers))
    found = trace.get_current_span(context).get_span_context()
    return (found if found.is_valid else None), context


def parent_context(parent: trace.SpanContext | None) -> Context:
    """The context ``propagate.extract`` gives for a carrier holding ``parent`` alone."""
    if parent is None:
        return Context()
    return trace.set_span_in_context(trace.NonRecordingSpan(parent), Context())


def traceparent_of(span: trace.Span) -> str | None:
    """The ``traceparent`` the global propagator writes for ``span`` (None: it writes none)."""
    context = span.get_span_context()
    if context.is_valid and w3c_propagation():
        return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent")
