"""An HTTP request's SERVER span that no span processor would receive is not recorded, yet
continues the caller's trace (or starts one) as the SDK's span would; recorded, its
attributes are what ``set_attribute`` stored."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_a_server_span_nobody_receives_is_not_recorded_but_continues_the_trace() -> None:
    # A fresh process: the global tracer provider is set once per process.
    script = textwrap.dedent(
        """
        from types import SimpleNamespace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from ikmkit.telemetry.http_tracing import finish_server_span, start_server_span
        from ikmkit.telemetry.otel import setup_tracing

        provider = setup_tracing("quiet")
        tracer = provider.get_tracer("ikmkit.telemetry.http_tracing")
        PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}"
        HEADERS = [[(b"traceparent", PARENT.format(flags=f).encode())] for f in ("01", "00")]
        HEADERS += [[(b"traceparent", b"garbage")], []]

        def spans(tracer):
            found = []
            for headers in HEADERS:
                scope = {"method": "POST", "path": "/enterprises", "headers": headers,
                         "route": SimpleNamespace(path="/enterprises")}
                span = start_server_span(tracer, scope)
                found.append((span, span.is_recording()))
                finish_server_span(span, scope, "POST", 201)
            return found

        quiet = spans(tracer)
        assert [recording for _, recording in quiet] == [False] * 4
        other = InMemorySpanExporter()  # a provider of its own records as it always did
        elsewhere = TracerProvider()
        elsewhere.add_span_processor(SimpleSpanProcessor(other))
        assert [r for _, r in spans(elsewhere.get_tracer("t"))] == [True, False, True, True]
        exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        heard = spans(tracer)
        assert [r for _, r in heard] == [True, False, True, True]
        recorded = exporter.get_finished_spans()
        assert [s.parent.span_id if s.parent else None for s in recorded] == [
            0xF067AA0BA902B7, None, None
        ]
        for mine, theirs in zip(recorded, other.get_finished_spans()):
            assert list(mine.attributes.items()) == list(theirs.attributes.items())
            assert mine.name == theirs.name == "POST /enterprises"
        assert dict(recorded[0].attributes) == {
            "http.request.method": "POST", "url.path": "/enterprises", "url.scheme": "http",
            "http.route": "/enterprises", "http.response.status_code": 201,
        }
        for (q, _), (h, _), headers in zip(quiet, heard, HEADERS):
            q, h = q.get_span_context(), h.get_span_context()
            if headers and headers[0][1] != b"garbage":
                assert q.trace_id == h.trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
            else:
                assert q.is_valid and q.trace_id != h.trace_id
            assert (q.trace_flags, q.trace_state, q.is_remote) == (
                h.trace_flags, h.trace_state, h.is_remote
            ), (q, h)
        print("ok")
        """
    )
    found = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert found.stdout.strip() == "ok", found.stderr
