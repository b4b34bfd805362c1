"""The relay's trace context, read and written without the propagator API, is the
propagators' own: the same parent for every carrier, the same ``traceparent`` for every span,
the propagators themselves when they are not the W3C ones; and a send span no processor
would receive is not recorded, yet continues the request's trace as the SDK's span would.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator, Mapping

import pytest
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.context import Context
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from ikmkit.telemetry.tracecontext import (
    extract_parent,
    parent_context,
    traceparent_of,
    w3c_propagation,
)

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{}"

CARRIERS: list[dict[str, str]] = [
    {},
    {"ce_id": "e-1"},
    {"traceparent": ""},
    {"traceparent": PARENT.format("01"), "ce_id": "e-1"},
    {"traceparent": PARENT.format("00")},
    {"traceparent": PARENT.format("03")},
    {"traceparent": PARENT.format("01").upper()},
    {"traceparent": " " + PARENT.format("01")},
    {"traceparent": PARENT.format("01") + "-extra"},
    {"traceparent": "01-" + PARENT.format("01")[3:] + "-future"},
    {"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"},
    {"traceparent": "garbage"},
    {"traceparent": PARENT.format("01"), "tracestate": "vendor=a,other=b"},
    {"traceparent": PARENT.format("01"), "baggage": "tenant=x"},
]


def _expected(carrier: Mapping[str, str]) -> tuple[trace.SpanContext | None, Context]:
    context = propagate.extract(dict(carrier))
    found = trace.get_current_span(context).get_span_context()
    return (found if found.is_valid else None), context


@pytest.mark.parametrize("carrier", CARRIERS)
def test_the_parent_read_from_an_events_headers_is_the_propagators(
    carrier: dict[str, str],
) -> None:
    expected, expected_context = _expected(carrier)
    parent, context = extract_parent(carrier)
    assert parent == expected
    context = parent_context(parent) if context is None else context
    assert trace.get_current_span(context).get_span_context() == (
        trace.get_current_span(expected_context).get_span_context()
    )
    assert dict(context).keys() == dict(expected_context).keys()  # baggage too


def _injected(span: trace.Span) -> str | None:
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent")


def _spans() -> Iterator[trace.Span]:
    tracer = TracerProvider().get_tracer("t")
    yield tracer.start_span("root")
    for flags in ("00", "01", "02", "03"):
        parent = trace.NonRecordingSpan(
            trace.get_current_span(
                propagate.extract({"traceparent": PARENT.format(flags)})
            ).get_span_context()
        )
        yield parent
        yield tracer.start_span("child", context=trace.set_span_in_context(parent))
    yield trace.INVALID_SPAN
    yield trace.NonRecordingSpan(trace.SpanContext(0, 0x00F067AA0BA902B7, False))


def test_the_traceparent_written_for_a_span_is_the_propagators() -> None:
    for span in _spans():
        assert traceparent_of(span) == _injected(span), span


class _Other(TextMapPropagator):
    """A propagator of another kind, writing its own ``traceparent`` form."""

    def extract(self, carrier, context=None, getter=None):  # type: ignore[no-untyped-def]
        found = trace.SpanContext(7, 9, True, trace.TraceFlags(1))
        return trace.set_span_in_context(trace.NonRecordingSpan(found), context)

    def inject(self, carrier, context=None, setter=None):  # type: ignore[no-untyped-def]
        carrier["traceparent"] = "other"

    @property
    def fields(self) -> set[str]:
        return {"traceparent"}


@pytest.fixture
def restored() -> Iterator[None]:
    before = propagate.get_global_textmap()
    yield
    propagate.set_global_textmap(before)


@pytest.mark.parametrize(
    ("textmap", "w3c"),
    [
        (CompositePropagator([TraceContextTextMapPropagator()]), True),
        (TraceContextTextMapPropagator(), True),
        (CompositePropagator([W3CBaggagePropagator()]), False),
        (CompositePropagator([TraceContextTextMapPropagator(), _Other()]), False),
        (_Other(), False),
    ],
)
def test_other_propagators_configured_are_used_as_they_are(
    textmap: TextMapPropagator, w3c: bool, restored: None
) -> None:
    assert w3c_propagation()  # the default, tracecontext and baggage
    propagate.set_global_textmap(textmap)
    assert w3c_propagation() is w3c
    for carrier in CARRIERS:
        assert extract_parent(carrier)[0] == _expected(carrier)[0]
    for span in _spans():
        assert traceparent_of(span) == _injected(span)


def test_a_send_span_nobody_receives_is_not_recorded_but_continues_the_trace() -> None:
    # A fresh process: the global tracer provider is set once per process.
    script = textwrap.dedent(
        """
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from ikmkit.telemetry.otel import end_send_span, setup_tracing, start_send_span
        from ikmkit.telemetry.tracecontext import traceparent_of

        provider = setup_tracing("quiet")
        PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"
        HEADERS = [{"traceparent": PARENT.format(flags=f)} for f in ("01", "00", "03", "02")]
        HEADERS += [{"traceparent": PARENT.format(flags="01"), "tracestate": "v=1"}, {}]

        def spans():
            found = []
            for headers in HEADERS:
                span = start_send_span("t", message_id="e", key="k", headers=headers)
                found.append((span, span.is_recording(), traceparent_of(span)))
                end_send_span(span, partition=1, offset=2)
            return found

        quiet = spans()
        assert [recording for _, recording, _ in quiet] == [False] * 6
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        heard = spans()
        assert [r for _, r, _ in heard] == [True, False, True, False, True, True]
        recorded = exporter.get_finished_spans()
        assert [s.parent.span_id if s.parent else None for s in recorded] == [
            0xF067AA0BA902B7, 0xF067AA0BA902B7, 0xF067AA0BA902B7, None
        ]
        ids = {s.get_span_context().span_id for s, _, _ in quiet + heard}
        assert len(ids) == 12 and 0xF067AA0BA902B7 not in ids, ids
        for (q, _, q_sent), (h, _, h_sent), headers in zip(quiet, heard, HEADERS):
            q, h = q.get_span_context(), h.get_span_context()
            if headers:
                assert q.trace_id == h.trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
            else:
                assert q.is_valid and q.trace_id != h.trace_id
            assert (q.trace_flags, q.trace_state, q.is_remote) == (
                h.trace_flags, h.trace_state, h.is_remote
            ), (q, h)
            assert q_sent == f"00-{q.trace_id:032x}-{q.span_id:016x}-{q.trace_flags:02x}"
            assert h_sent == f"00-{h.trace_id:032x}-{h.span_id:016x}-{h.trace_flags:02x}"
        print("ok")
        """
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert found.stdout.strip() == "ok", found.stderr


def test_the_traceparent_an_event_records_is_the_propagators_for_the_current_span() -> None:
    from ikmkit.messaging.outbox import current_traceparent

    for span in _spans():
        with trace.use_span(span):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            assert current_traceparent() == carrier.get("traceparent"), span
    assert current_traceparent() is None  # no span current
